using System.Diagnostics;
using System.Globalization;
using ImageSimilarity.Extraction;
using ImageSimilarity.PgVector.Distributed;
using ImageSimilarity.TestSupport;
using Npgsql;
using SkiaSharp;

namespace ImageSimilarity.PgVector.Benchmarks;

/// <summary>
/// <c>distributed --images DIR --count N --workers 1,2</c>: N augmented images written to a folder, enqueued, then worked
/// through by W worker processes of one libtorch thread each (VGG16 bf16, random weights: the speed does not depend on
/// the values); prints images/s of the whole run for each W. A proxy for W machines.
/// </summary>
internal static class DistributedCommand
{
    public static async Task<int> RunAsync(string images, int count, int[] workerCounts)
    {
        var folder = Path.Combine(Path.GetTempPath(), "imgsim-dist-bench");
        Directory.CreateDirectory(folder);
        var sources = Directory.GetFiles(images).Order(StringComparer.Ordinal).Select(f => SKBitmap.Decode(f)!).ToArray();
        var files = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var path = Path.Combine(folder, $"aug{i:D5}.jpg");
            if (!File.Exists(path))
            {
                await File.WriteAllBytesAsync(path, Augment.Jpeg(sources[i % sources.Length], new Random(100_000 + i)));
            }

            files.Add(path);
        }

        var weights = FeaturesCommand.EnsureWeights();
        await using var server = await PostgresServer.StartAsync("fsync = on", "synchronous_commit = on", "full_page_writes = on");
        await using var dataSource = NpgsqlDataSource.Create(server.ConnectionString);
        foreach (var workers in workerCounts)
        {
            var table = $"dist_{workers}";
            using (var extractor = await Vgg16FeatureExtractor.CreateAsync(new Vgg16ExtractorOptions { WeightsPath = weights, Precision = ComputePrecision.BFloat16, ThreadCount = 1, BatchSize = 4 }))
            {
                await using var store = new PgVectorStore(dataSource, extractor.Dimension, extractor.ModelId, new PgVectorStoreOptions { TableName = table });
                await new DistributedIndexer(store, new DistributedIndexOptions { BatchSize = 4 }).EnqueueAsync(files);
            }

            var clock = Stopwatch.StartNew();
            var processes = Enumerable.Range(0, workers).Select(w =>
            {
                var start = new ProcessStartInfo("dotnet") { UseShellExecute = false };
                foreach (var a in new[] { typeof(DistributedCommand).Assembly.Location, "worker", server.ConnectionString, table, weights, $"w{w}" })
                {
                    start.ArgumentList.Add(a);
                }

                return Process.Start(start)!;
            }).ToArray();
            foreach (var p in processes)
            {
                await p.WaitForExitAsync();
            }

            clock.Stop();
            await using var command = dataSource.CreateCommand($"SELECT count(*) FROM {table}");
            var stored = (long)(await command.ExecuteScalarAsync())!;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {workers} worker process(es), 1 thread each | {stored} images | {clock.Elapsed.TotalSeconds:F1} s | {stored / clock.Elapsed.TotalSeconds:F2} img/s (incl. process start and weight loading) |"));
        }

        return 0;
    }

    public static async Task<int> WorkerAsync(string connection, string table, string weights, string id)
    {
        await using var dataSource = NpgsqlDataSource.Create(connection);
        using var extractor = await Vgg16FeatureExtractor.CreateAsync(new Vgg16ExtractorOptions { WeightsPath = weights, Precision = ComputePrecision.BFloat16, ThreadCount = 1, BatchSize = 4 });
        await using var store = new PgVectorStore(dataSource, extractor.Dimension, extractor.ModelId, new PgVectorStoreOptions { TableName = table });
        var result = await new DistributedIndexer(store, new DistributedIndexOptions { WorkerId = id }).WorkAsync(extractor);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"worker {id}: {result.Extracted} images in {result.Elapsed.TotalSeconds:F1} s"));
        return 0;
    }
}
