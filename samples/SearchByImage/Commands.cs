using System.CommandLine;

namespace SearchByImage;

/// <summary>The program's commands, one file each; the tests run the same root in-process.</summary>
internal static class Commands
{
    public static RootCommand CreateRoot() => new("Reverse image search with VGG16 fc2 features (ImageSimilarity sample).")
    {
        IndexCommand.Create(),
        SearchCommand.Create(),
        InfoCommand.Create(),
        ImportCommand.Create(),
        ExtractCommand.Create(),
        Postgres.ApproximateIndexCommand.Create(),
    };
}
