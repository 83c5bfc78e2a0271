using System.Diagnostics;
using System.Text;
using ImageSimilarity.Extraction;
using ImageSimilarity.Storage;
using ImageSimilarity.TestSupport;

namespace ImageSimilarity.Samples;

/// <summary>
/// The SearchByImage program as a user runs it: a real child process (<c>dotnet SearchByImage.dll</c>), real signals
/// sent with kill(1), bad command lines. Each checks the exit code and that stderr is one clear line.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class SearchByImageProcessTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(5);
    private readonly Vgg16ReferenceFixture _reference;
    private readonly TempDirectory _dir = TestPaths.CreateTempDirectory("imgsim-cli-process");

    public SearchByImageProcessTests(Vgg16ReferenceFixture reference) => _reference = reference;

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("search", "--top", "abc", "abc")]
    [InlineData("search", "--top", "99999999999", "99999999999")]
    [InlineData("search", "--min-score", "abc", "abc")]
    [InlineData("index", "--batch-size", "abc", "abc")]
    [InlineData("search", "--top", "0", "--top must be at least 1")]
    [InlineData("search", "--min-score", "2", "--min-score must be between -1 and 1")]
    public async Task BadNumber_GivesTheParsersOneLineAndExitCode1(string command, string option, string value, string expected)
    {
        var result = await RunAsync([command, _dir.Path, option, value, "--index", _dir.Combine("x.isvs")]);

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled", result.Error, StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.Output.Trim()); // no help text dumped after the error
    }

    [Fact]
    public async Task IndexSearchInfo_DirectoryAsIndex_SayItIsADirectoryBeforeLoadingTheModel()
    {
        var folder = Directory.CreateDirectory(_dir.Combine("images")).FullName;

        var image = _dir.Combine("q.jpeg");
        File.WriteAllBytes(image, [0xFF, 0xD8, 0xFF]);

        foreach (var args in new[]
        {
            new[] { "index", folder, "--index", _dir.Path, "--weights", _dir.Combine("no-such-weights.pth") },
            ["search", image, "--index", _dir.Path],
            ["info", "--index", _dir.Path],
        })
        {
            var result = await RunAsync(args);
            Assert.Equal(1, result.ExitCode);
            Assert.Contains("is a directory", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
        }
    }

    [SkippableTheory]
    [InlineData("file-as-folder")]
    [InlineData("proc")]
    public async Task IndexAndImport_UnwritableIndex_AreRefusedBeforeAnyWork(string kind)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "uses Linux paths");
        var folder = Directory.CreateDirectory(_dir.Combine("images")).FullName;
        File.WriteAllText(_dir.Combine("plain.txt"), "a file, not a folder");
        var index = kind == "proc" ? "/proc/imgsim-test/index.isvs" : _dir.Combine("plain.txt", "index.isvs");

        var indexing = await RunAsync(["index", folder, "--index", index, "--weights", _dir.Combine("no-such-weights.pth")]);
        var vectors = _dir.Combine("v.f32");
        File.WriteAllBytes(vectors, new byte[16]);
        File.WriteAllText(_dir.Combine("names.txt"), "a\n");
        var import = await RunAsync(["import", vectors, "--names", _dir.Combine("names.txt"), "--model-id", "m", "--index", index]);

        foreach (var result in new[] { indexing, import })
        {
            Assert.Equal(1, result.ExitCode);
            var line = Assert.Single(result.ErrorLines);
            Assert.Contains("cannot be written", line, StringComparison.Ordinal);
            Assert.DoesNotContain("weights", line, StringComparison.Ordinal);
        }
    }

    [SkippableTheory]
    [InlineData("INT", 130)]
    [InlineData("TERM", 143)]
    public async Task Index_SignalDuringExtraction_SavesWhatWasExtractedAndExits(string signal, int exitCode)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "sends POSIX signals with kill(1)");
        var data = _reference.Data;
        var folder = Directory.CreateDirectory(_dir.Combine("many")).FullName;
        for (var copy = 0; copy < 40; copy++)
        {
            foreach (var image in data.Images)
            {
                File.Copy(image, Path.Combine(folder, $"{copy:00}-{Path.GetFileName(image)}"));
            }
        }

        var total = Directory.GetFiles(folder).Length;
        var index = _dir.Combine($"signal-{signal}.isvs");
        var firstProgress = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var run = RunAsync(["index", folder, "--index", index, "--weights", data.File("vgg16_zip.pth"), "--batch-size", "2", "--json"], line =>
        {
            if (line.StartsWith("progress:", StringComparison.Ordinal))
            {
                firstProgress.TrySetResult();
            }
        }, started: p => _process = p);

        await firstProgress.Task.WaitAsync(Guard);
        Kill(signal, _process!.Id);
        var result = await run.WaitAsync(Guard);

        Assert.Equal(exitCode, result.ExitCode);
        var last = result.ErrorLines[^1];
        Assert.StartsWith("cancelled: kept ", last, StringComparison.Ordinal);
        await using var store = await EmbeddedVectorStore.OpenAsync(index);
        var kept = await store.CountAsync();
        Assert.InRange(kept, 1, total - 1);
        Assert.Contains($"kept {kept} images", last, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled", result.Error, StringComparison.Ordinal);
    }

    private Process? _process;

    private static void Kill(string signal, int pid)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    private static async Task<ProcessResult> RunAsync(string[] args, Action<string>? onErrorLine = null, Action<Process>? started = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "SearchByImage.dll");
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h ? h : "dotnet";
        var psi = new ProcessStartInfo(host)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        psi.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["IMAGESIMILARITY_INDEX"] = string.Empty;
        using var process = new Process { StartInfo = psi };
        var output = new StringBuilder();
        var errors = new List<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (output)
                {
                    output.AppendLine(e.Data);
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (errors)
                {
                    errors.Add(e.Data);
                }

                onErrorLine?.Invoke(e.Data);
            }
        };
        process.Start();
        started?.Invoke(process);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync().WaitAsync(Guard);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        process.WaitForExit(); // drains the redirected streams
        string[] lines;
        lock (errors)
        {
            lines = [.. errors.Where(l => l.Length > 0 && !l.StartsWith("progress:", StringComparison.Ordinal) && !l.Contains(": stopping and saving", StringComparison.Ordinal))];
        }

        return new ProcessResult(process.ExitCode, output.ToString(), string.Join('\n', errors), lines);
    }

    private sealed record ProcessResult(int ExitCode, string Output, string Error, string[] ErrorLines);
}
