using System.Diagnostics;
using System.Globalization;
using ImageSimilarity.OnnxRuntime;
using ImageSimilarity.PgVector.Distributed;
using ImageSimilarity.RealisticFeatures;
using ImageSimilarity.TestSupport;
using Npgsql;
using SkiaSharp;

namespace ImageSimilarity.PgVector.Benchmarks;

/// <summary>
/// <c>distributed --images DIR --count N --workers 1,2</c>: N augmented images written to a folder, enqueued, then worked
/// through by W worker processes with one ONNX Runtime thread each (the pretrained ResNet18); prints images/s of the
/// whole run (process start and model load included) and each worker's own extraction time, for each W. A proxy for
/// W machines.
/// </summary>
internal static class DistributedCommand
{
    public static async Task<int> RunAsync(string images, int count, int[] workerCounts)
    {
        var folder = Path.Combine(Path.GetTempPath(), "imgsim-dist-bench-resnet18");
        Directory.CreateDirectory(folder);
        var sources = Directory.GetFiles(images).Order(StringComparer.Ordinal).Select(f => SKImage.FromEncodedData(f)!).ToArray();
        var files = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var path = Path.Combine(folder, $"aug{i:D5}.jpg");
            if (!File.Exists(path))
            {
                var source = sources[i % sources.Length];
                await File.WriteAllBytesAsync(path, Augmentation.Draw(source.Width, source.Height, new Random(100_000 + i)).ApplyAsJpeg(source));
            }

            files.Add(path);
        }

        var cpu = File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() : "?";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# distributed indexing, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {count} images, ResNet18 (1 ONNX Runtime thread per worker), batches of 8 files; {cpu}, {Environment.ProcessorCount} cores"));
        await using var server = await PostgresServer.StartAsync("fsync = on", "synchronous_commit = on", "full_page_writes = on");
        await using var dataSource = NpgsqlDataSource.Create(server.ConnectionString);
        Console.WriteLine("| workers (1 thread each) | images stored | wall time | images/s, whole run | each worker: images in extraction seconds | load average |");
        Console.WriteLine("|---:|---:|---:|---:|---|---|");
        for (var run = 0; run < workerCounts.Length; run++)
        {
            var workers = workerCounts[run];
            var table = $"dist_{run}_{workers}";
            using (var extractor = ResNet18Model.Load(new OnnxExtractorOptions { ThreadCount = 1 }))
            {
                await using var store = new PgVectorStore(dataSource, extractor.Dimension, extractor.ModelId, new PgVectorStoreOptions { TableName = table });
                await new DistributedIndexer(store, new DistributedIndexOptions { BatchSize = 8 }).EnqueueAsync(files);
            }

            var clock = Stopwatch.StartNew();
            var processes = Enumerable.Range(0, workers).Select(w =>
            {
                var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true };
                foreach (var a in new[] { typeof(DistributedCommand).Assembly.Location, "worker", server.ConnectionString, table, $"w{w}" })
                {
                    start.ArgumentList.Add(a);
                }

                return Process.Start(start)!;
            }).ToArray();
            var reports = new List<string>();
            foreach (var p in processes)
            {
                reports.Add((await p.StandardOutput.ReadToEndAsync()).Trim());
                await p.WaitForExitAsync();
                if (p.ExitCode != 0)
                {
                    throw new InvalidOperationException($"a worker failed with exit code {p.ExitCode}");
                }
            }

            clock.Stop();
            await using var command = dataSource.CreateCommand($"SELECT count(*) FROM {table}");
            var stored = (long)(await command.ExecuteScalarAsync())!;
            var load = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {workers} | {stored} | {clock.Elapsed.TotalSeconds:F1} s | {stored / clock.Elapsed.TotalSeconds:F2} | {string.Join("; ", reports)} | {load} |"));
        }

        return 0;
    }

    public static async Task<int> WorkerAsync(string connection, string table, string id)
    {
        await using var dataSource = NpgsqlDataSource.Create(connection);
        using var extractor = ResNet18Model.Load(new OnnxExtractorOptions { ThreadCount = 1 });
        await using var store = new PgVectorStore(dataSource, extractor.Dimension, extractor.ModelId, new PgVectorStoreOptions { TableName = table });
        var result = await new DistributedIndexer(store, new DistributedIndexOptions { WorkerId = id }).WorkAsync(extractor);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{id}: {result.Extracted} in {result.Elapsed.TotalSeconds:F1} s"));
        return 0;
    }
}
