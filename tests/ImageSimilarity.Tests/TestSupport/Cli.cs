using System.Text.Json;
using SearchByImage;

namespace ImageSimilarity.TestSupport;

/// <summary>Runs the SearchByImage program's commands in-process, as its tests need: exit code, JSON output, error lines.</summary>
internal static class Cli
{
    /// <summary>Runs the program with <paramref name="args"/> and returns its exit code.</summary>
    public static Task<int> RunAsync(params string[] args) => Commands.CreateRoot().Parse(args).InvokeAsync();

    /// <summary>Runs a command with <c>--json</c> and parses what it printed.</summary>
    public static async Task<(int Code, JsonElement Json)> RunJsonAsync(params string[] args)
    {
        var (code, output) = await CaptureAsync(Console.Out, Console.SetOut, () => RunAsync(args));
        using var doc = JsonDocument.Parse(output);
        return (code, doc.RootElement.Clone());
    }

    /// <summary>Runs commands and returns the lines they wrote to stderr.</summary>
    public static async Task<string[]> ErrorLinesAsync(Func<Task> commands)
    {
        var (_, errors) = await CaptureAsync(Console.Error, Console.SetError, async () =>
        {
            await commands();
            return 0;
        });
        return errors.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private static async Task<(int Code, string Text)> CaptureAsync(TextWriter previous, Action<TextWriter> set, Func<Task<int>> body)
    {
        var capture = new StringWriter();
        set(capture);
        try
        {
            return (await body(), capture.ToString());
        }
        finally
        {
            set(previous);
        }
    }
}
