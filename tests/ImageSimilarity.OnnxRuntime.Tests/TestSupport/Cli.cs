using System.Diagnostics;
using System.Reflection;
using System.Text.Json;

namespace ImageSimilarity.TestSupport;

/// <summary>Runs the SearchByImage program as a real child process.</summary>
internal static class Cli
{
    public static string Dll => typeof(Cli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "SearchByImage").Value!;

    public static Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args) => RunWithEnvironmentAsync(new Dictionary<string, string?>(), args);

    /// <summary>Runs with extra (or, with a null value, removed) environment variables.</summary>
    public static async Task<(int Code, string Stdout, string Stderr)> RunWithEnvironmentAsync(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (key, value) in environment)
        {
            psi.Environment[key] = value;
        }

        psi.ArgumentList.Add(Dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start dotnet");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout, await stderr);
    }

    public static async Task<JsonElement> RunJsonAsync(params string[] args)
    {
        var (code, stdout, stderr) = await RunAsync(args);
        Assert.True(code == 0, $"SearchByImage {string.Join(' ', args)} exited with {code}: {stderr}");
        using var doc = JsonDocument.Parse(stdout);
        return doc.RootElement.Clone();
    }
}
