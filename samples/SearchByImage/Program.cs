using System.CommandLine;
using SearchByImage;

// One file per command; later work adds index, search and info beside extract.
var root = new RootCommand("Reverse image search with VGG16 fc2 features (ImageSimilarity sample).")
{
    ExtractCommand.Create(),
};

return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
