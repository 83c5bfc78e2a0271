using System.Diagnostics;

namespace ImageSimilarity.TestSupport;

/// <summary>Runs a child process to completion with a time limit, so a hung child fails the test instead of hanging the run.</summary>
internal static class ChildProcess
{
    /// <summary>The limit for short helper commands (probes, mount, the sqlite3 shell).</summary>
    public static readonly TimeSpan ShortTimeout = TimeSpan.FromMinutes(1);

    /// <summary>The limit for the Python reference scripts (they write VGG16 weights with torch).</summary>
    public static readonly TimeSpan LongTimeout = TimeSpan.FromMinutes(10);

    /// <summary>Runs <paramref name="start"/> with stdout and stderr captured; kills it and throws <see cref="TimeoutException"/> past <paramref name="timeout"/>.</summary>
    public static (int ExitCode, string StdOut, string StdErr) Run(ProcessStartInfo start, TimeSpan timeout)
    {
        start.UseShellExecute = false;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Cannot start " + start.FileName);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            KillAndWait(process);
            throw new TimeoutException($"'{start.FileName} {string.Join(' ', start.ArgumentList)}' did not finish within {timeout.TotalSeconds:F0} s and was killed.");
        }

        // The exit is seen; the pipes close with it.
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Kills a child (and its children) and waits a bounded time for it to be gone.</summary>
    public static void KillAndWait(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }

        if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException($"Process {process.Id} did not end within 30 s of SIGKILL.");
        }
    }
}
