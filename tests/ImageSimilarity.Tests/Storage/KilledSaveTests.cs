using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using ImageSimilarity.TestSupport;
using Xunit.Abstractions;

namespace ImageSimilarity.Storage;

public sealed class KilledSaveTests(ITestOutputHelper output)
{
    private const int Rows = 40_000;
    private const int Dimension = 256;

    [SkippableFact]
    public async Task SaveAsync_KilledAtRandomMoments_LeavesALoadableConsistentIndex()
    {
        var helper = typeof(KilledSaveTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "SaveCrashHelper").Value!;
        Skip.IfNot(File.Exists(helper), $"The save helper {helper} is not built.");
        using var dir = TestPaths.CreateTempDirectory("imgsim-crash");
        var path = dir.Combine("index.isvs");
        RunHelper(helper, path, once: true, new TaskCompletionSource()).WaitForExit();
        Assert.True(File.Exists(path));

        var random = new Random(12345);
        var lastGeneration = 1;
        var killedMidSave = 0;
        for (var round = 0; round < 8; round++)
        {
            var saved = new TaskCompletionSource();
            using var process = RunHelper(helper, path, once: false, saved);
            if (round % 2 == 1)
            {
                // Odd rounds: let at least one save complete (the next one is then under way), so the file moves on.
                await Task.WhenAny(saved.Task, Task.Delay(TimeSpan.FromSeconds(60)));
                await Task.Delay(random.Next(0, 300));
            }
            else
            {
                await Task.Delay(random.Next(150, 1500));
            }

            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            if (File.Exists(path + ".tmp"))
            {
                killedMidSave++;
            }

            await using var store = await EmbeddedVectorStore.OpenAsync(path);
            Assert.Equal(Rows + 1, store.Count);
            var generation = int.Parse(store.Properties["generation"], CultureInfo.InvariantCulture);
            Assert.True(generation >= lastGeneration, $"generation went back from {lastGeneration} to {generation}");
            lastGeneration = generation;

            // The marker vector was upserted together with the generation: both come from the same save.
            var marker = (await store.GetAsync("marker"))!.Vector.Span;
            var hot = generation % Dimension;
            Assert.True(marker[hot] > 0.5f, $"generation {generation}: the marker vector belongs to another save");
        }

        output.WriteLine($"8 kills: {killedMidSave} left a half-written temporary file; final generation {lastGeneration}.");
        Assert.True(lastGeneration > 1, "no save completed in the child process");
    }

    private static Process RunHelper(string helper, string path, bool once, TaskCompletionSource saved)
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h ? h : "dotnet";
        var psi = new ProcessStartInfo(host) { UseShellExecute = false, RedirectStandardOutput = true };
        psi.ArgumentList.Add(helper);
        psi.ArgumentList.Add(path);
        psi.ArgumentList.Add(Rows.ToString(CultureInfo.InvariantCulture));
        psi.ArgumentList.Add(Dimension.ToString(CultureInfo.InvariantCulture));
        if (once)
        {
            psi.ArgumentList.Add("--once");
        }

        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.StartsWith("saved", StringComparison.Ordinal) == true)
            {
                saved.TrySetResult();
            }
        };
        process.BeginOutputReadLine();
        return process;
    }
}
