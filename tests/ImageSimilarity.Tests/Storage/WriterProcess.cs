using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using ImageSimilarity.TestSupport;

namespace ImageSimilarity.Storage;

/// <summary>Runs tests/ImageSimilarity.SaveCrashHelper as a real child process that commits batches to an index.</summary>
internal sealed class WriterProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<int> _committed = [];
    private readonly TaskCompletionSource _firstCommit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly System.Text.StringBuilder _errors = new();

    private WriterProcess(Process process) => _process = process;

    public static string HelperPath => typeof(WriterProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "SaveCrashHelper").Value!;

    /// <summary>Gets the batches the child reported as committed (after its UpsertAsync returned).</summary>
    public int[] Committed
    {
        get
        {
            lock (_committed)
            {
                return [.. _committed];
            }
        }
    }

    public Task FirstCommit => _firstCommit.Task;

    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return _errors.ToString();
            }
        }
    }

    /// <summary>Starts a writer: <paramref name="batches"/> batches (0 = until killed) of <paramref name="batchSize"/> records.</summary>
    public static WriterProcess Start(string index, int dimension, string prefix, int batches, int batchSize)
    {
        if (!File.Exists(HelperPath))
        {
            throw new InvalidOperationException($"The writer helper {HelperPath} is not built (it is built with the test project).");
        }

        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h ? h : "dotnet";
        var psi = new ProcessStartInfo(host) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { HelperPath, index, dimension.ToString(CultureInfo.InvariantCulture), prefix, batches.ToString(CultureInfo.InvariantCulture), batchSize.ToString(CultureInfo.InvariantCulture) })
        {
            psi.ArgumentList.Add(arg);
        }

        var writer = new WriterProcess(Process.Start(psi)!);
        writer._process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && line.StartsWith("committed ", StringComparison.Ordinal))
            {
                lock (writer._committed)
                {
                    writer._committed.Add(int.Parse(line["committed ".Length..], CultureInfo.InvariantCulture));
                }

                writer._firstCommit.TrySetResult();
            }
        };
        writer._process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (writer._errors)
                {
                    writer._errors.AppendLine(line);
                }
            }
        };
        writer._process.BeginOutputReadLine();
        writer._process.BeginErrorReadLine();
        return writer;
    }

    /// <summary>Sends SIGKILL (on Unix, <see cref="Process.Kill()"/> is SIGKILL) and waits for the process to end.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(cts.Token);
    }

    public async Task<int> WaitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            ChildProcess.KillAndWait(_process);
        }

        _process.Dispose();
    }
}
