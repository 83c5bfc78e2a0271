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
        RunHelper(helper, path, once: true).WaitForExit();
        Assert.True(File.Exists(path));

        var random = new Random(12345);
        var lastGeneration = 1;
        var killedMidSave = 0;
        for (var round = 0; round < 8; round++)
        {
            using var process = RunHelper(helper, path, once: false);
            await Task.Delay(random.Next(150, 1200));
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
    }

    private static Process RunHelper(string helper, string path, bool once)
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
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        return process;
    }
}
