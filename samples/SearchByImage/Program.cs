using System.CommandLine;
using SearchByImage;

// One file per command.
var root = new RootCommand("Reverse image search with VGG16 fc2 features (ImageSimilarity sample).")
{
    IndexCommand.Create(),
    SearchCommand.Create(),
    InfoCommand.Create(),
    ImportCommand.Create(),
    ExtractCommand.Create(),
    SearchByImage.Postgres.ApproximateIndexCommand.Create(),
};

return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
