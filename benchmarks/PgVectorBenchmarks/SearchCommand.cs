using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using ImageSimilarity.Storage;
using ImageSimilarity.TestSupport;
using Npgsql;

namespace ImageSimilarity.PgVector.Benchmarks;

/// <summary>
/// <c>search --features FILE</c>: loads the feature rows into a throw-away PostgreSQL (default durability settings) at each
/// size, and measures bulk-load rows/s, exact latency (PostgreSQL and the embedded store on the same vectors), and for
/// sign and median codes the HNSW build time, recall@10 against exact search and latency per candidate-list size.
/// The last <c>--queries</c> rows are held out as queries (augmentations never stored). Rows beyond the distinct ones are
/// replicas of them with small multiplicative noise on the non-zero values (zeros stay zero, as after a ReLU).
/// </summary>
internal static class SearchCommand
{
    private const int Dimension = 4096;

    public static async Task<int> RunAsync(string featuresPath, int queryCount, int[] sizes, int[] candidateSizes, int exactQueries, BinaryCodeKind[] kinds, string? output)
    {
        var rows = ReadRows(featuresPath);
        var queries = rows[^queryCount..];
        var distinct = rows[..^queryCount];
        var report = new StringBuilder();
        void Line(string text)
        {
            Console.WriteLine(text);
            report.AppendLine(text);
        }

        Line(string.Create(CultureInfo.InvariantCulture, $"# pgvector search benchmark, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {distinct.Length} distinct vectors + replicas, {queries.Length} held-out queries, {Environment.ProcessorCount} cores"));
        await using var server = await PostgresServer.StartAsync("fsync = on", "synchronous_commit = on", "full_page_writes = on", "shared_buffers = 2GB", "max_parallel_workers_per_gather = 2", "maintenance_work_mem = 1GB", "max_wal_size = 512MB", "log_min_duration_statement = 1000");
        await using var dataSource = NpgsqlDataSource.Create(server.ConnectionString + ";Command Timeout=0");
        foreach (var size in sizes)
        {
            var data = Build(distinct, size);
            Line(string.Empty);
            Line(string.Create(CultureInfo.InvariantCulture, $"## {size:N0} rows ({Math.Min(size, distinct.Length):N0} distinct)"));

            await using var embedded = EmbeddedVectorStore.Create(Dimension, "vgg16-random");
            await embedded.UpsertAsync(data.Select((v, i) => new VectorRecord($"r{i}", v)));
            var truth = new List<HashSet<string>>();
            var embeddedTimes = new List<double>();
            foreach (var q in queries)
            {
                var clock = Stopwatch.StartNew();
                var hits = await embedded.SearchAsync(q, new VectorSearchOptions { Top = 10 });
                embeddedTimes.Add(clock.Elapsed.TotalMilliseconds);
                truth.Add(hits.Select(h => h.Id).ToHashSet());
            }

            var store = new PgVectorStore(dataSource, Dimension, "vgg16-random", new PgVectorStoreOptions { TableName = $"bench_{size}", CommandTimeout = TimeSpan.FromHours(1) });
            var load = Stopwatch.StartNew();
            await store.UpsertAsync(data.Select((v, i) => new VectorRecord($"r{i}", v)));
            load.Stop();
            Line(string.Create(CultureInfo.InvariantCulture, $"bulk load (binary COPY + merge, batches of 2,000): {size / load.Elapsed.TotalSeconds:N0} rows/s ({load.Elapsed.TotalSeconds:F1} s)"));
            await Exec(dataSource, $"VACUUM ANALYZE bench_{size}");

            var exactTimes = new List<double>();
            var exactRecall = 0.0;
            for (var i = 0; i < Math.Min(exactQueries, queries.Length); i++)
            {
                var clock = Stopwatch.StartNew();
                var hits = await store.SearchAsync(queries[i], new VectorSearchOptions { Top = 10 });
                exactTimes.Add(clock.Elapsed.TotalMilliseconds);
                exactRecall += hits.Count(h => truth[i].Contains(h.Id)) / 10.0;
            }

            Line("| mode | candidates | recall@10 | median ms | p90 ms | speed-up vs PG exact |");
            Line("|---|---:|---:|---:|---:|---:|");
            var exactMedian = Median(exactTimes);
            Line(string.Create(CultureInfo.InvariantCulture, $"| embedded store, exact (fp32, in process) | all | 1.000 | {Median(embeddedTimes):F1} | {Percentile(embeddedTimes, 0.9):F1} | {exactMedian / Median(embeddedTimes):F1}x |"));
            Line(string.Create(CultureInfo.InvariantCulture, $"| PostgreSQL exact (<=>, {exactTimes.Count} queries) | all | {exactRecall / exactTimes.Count:F3} | {exactMedian:F1} | {Percentile(exactTimes, 0.9):F1} | 1.0x |"));

            foreach (var kind in kinds)
            {
                var build = Stopwatch.StartNew();
                await store.CreateApproximateIndexAsync(new ApproximateIndexOptions { CodeKind = kind, MaintenanceWorkMemory = "1GB" });
                build.Stop();
                foreach (var candidates in candidateSizes)
                {
                    var times = new List<double>();
                    var recall = 0.0;

                    // One unmeasured pass warms the caches for this setting; then every query is timed.
                    await store.SearchAsync(queries[0], new PgVectorSearchOptions { Store = new VectorSearchOptions { Top = 10 }, Mode = PgVectorSearchMode.Approximate, Candidates = candidates });
                    for (var i = 0; i < queries.Length; i++)
                    {
                        var clock = Stopwatch.StartNew();
                        var hits = await store.SearchAsync(queries[i], new PgVectorSearchOptions { Store = new VectorSearchOptions { Top = 10 }, Mode = PgVectorSearchMode.Approximate, Candidates = candidates });
                        times.Add(clock.Elapsed.TotalMilliseconds);
                        recall += hits.Count(h => truth[i].Contains(h.Id)) / 10.0;
                    }

                    Line(string.Create(CultureInfo.InvariantCulture, $"| HNSW bit({Dimension}) {kind.ToString().ToLowerInvariant()} codes + exact re-rank (build {build.Elapsed.TotalSeconds:F0} s) | {candidates} | {recall / queries.Length:F3} | {Median(times):F1} | {Percentile(times, 0.9):F1} | {exactMedian / Median(times):F1}x |"));
                }
            }

            await Exec(dataSource, $"DROP TABLE bench_{size}; DELETE FROM imagesimilarity_stores WHERE table_name = 'bench_{size}'");
        }

        if (Environment.GetEnvironmentVariable("PGBENCH_KEEP_LOG") is { Length: > 0 } keep)
        {
            File.Copy(server.LogPath, keep, overwrite: true);
        }

        if (output is not null)
        {
            await File.WriteAllTextAsync(output, report.ToString());
        }

        return 0;
    }

    private static float[][] ReadRows(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var count = bytes.Length / (Dimension * sizeof(float));
        var rows = new float[count][];
        for (var i = 0; i < count; i++)
        {
            rows[i] = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(i * Dimension * sizeof(float), Dimension * sizeof(float))).ToArray();
        }

        return rows;
    }

    private static float[][] Build(float[][] distinct, int size)
    {
        var random = new Random(11);
        var data = new float[size][];
        for (var i = 0; i < size; i++)
        {
            var source = distinct[i % distinct.Length];
            if (i < distinct.Length)
            {
                data[i] = source;
                continue;
            }

            var copy = new float[Dimension];
            for (var d = 0; d < Dimension; d++)
            {
                copy[d] = source[d] == 0 ? 0 : source[d] * (float)(1 + (0.05 * NextGaussian(random)));
            }

            data[i] = copy;
        }

        return data;
    }

    private static double NextGaussian(Random random)
        => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static double Median(List<double> values) => Percentile(values, 0.5);

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[(int)Math.Min(sorted.Length - 1, Math.Floor(p * sorted.Length))];
    }

    private static async Task Exec(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }
}
