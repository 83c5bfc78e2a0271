using ImageSimilarity;
using ImageSimilarity.Extraction;

namespace SearchByImage;

/// <summary>Turns the errors a user can cause or fix into one clear line on stderr and a non-zero exit code.</summary>
internal static class CommandErrors
{
    public const int Failure = 1;

    /// <summary>Runs a command body; known errors become one line on stderr, anything else propagates.</summary>
    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (CommandCancelledException ex)
        {
            await Console.Error.WriteLineAsync("cancelled: " + OneLine(ex.Message)).ConfigureAwait(false);
            return TerminationSignals.ExitCode;
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("cancelled").ConfigureAwait(false);
            return TerminationSignals.ExitCode;
        }
        catch (Exception ex) when (Describe(ex) is { } line)
        {
            await Console.Error.WriteLineAsync("error: " + line).ConfigureAwait(false);
            return Failure;
        }
    }

    private static string? Describe(Exception ex) => ex switch
    {
        WeightsFileException w when w.FilePath is not null => $"weights file '{w.FilePath}': {string.Join("; ", w.Problems)}",
        WeightsFileException w => string.Join("; ", w.Problems),
        ImageSimilarityException or ArgumentException => OneLine(ex.Message),
        IOException or UnauthorizedAccessException => OneLine(ex.Message),
        _ => null,
    };

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
