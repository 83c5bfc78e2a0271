using System.Diagnostics;
using System.Reflection;

namespace SearchByImage.Web.TestSupport;

/// <summary>Runs the SearchByImage CLI (built beside the tests) as a child process, as a user would next to the app.</summary>
internal static class SearchByImageCli
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    /// <summary>Runs the CLI with <paramref name="args"/> and fails the test unless it exits with 0 within five minutes.</summary>
    public static async Task RunAsync(params string[] args)
    {
        var cli = typeof(SearchByImageCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "SearchByImageCli").Value!;
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(cli);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"SearchByImage {string.Join(' ', args)} did not finish in {Timeout.TotalMinutes} minutes.");
        }

        Assert.True(process.ExitCode == 0, $"SearchByImage {string.Join(' ', args)} exited with {process.ExitCode}:\n{await stderr}\n{await stdout}");
    }
}
