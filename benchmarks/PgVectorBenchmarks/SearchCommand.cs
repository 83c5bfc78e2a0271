using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using ImageSimilarity.Storage;
using ImageSimilarity.TestSupport;
using Npgsql;

namespace ImageSimilarity.PgVector.Benchmarks;

/// <summary>
/// <c>search --features FILE</c>: loads feature rows into a throw-away PostgreSQL (default durability settings) at each
/// size and measures bulk-load rows/s, exact latency (PostgreSQL and the embedded store on the same vectors), and for
/// sign and median codes the build time of each stage, recall@10 against exact search and latency per candidate-list
/// size (<c>hnsw.ef_search</c>). The last <c>--queries</c> rows are held out as queries (never stored). Sizes up to the
/// number of remaining rows use distinct rows; beyond it, rows are replicas of them with small multiplicative noise
/// on the non-zero values (zeros stay zero, as after a ReLU): for latency, their recall is not that of distinct images.
/// <c>search --quick</c> runs the same on 2,000 synthetic sparse non-negative rows in a few tens of seconds (CI).
/// </summary>
internal static class SearchCommand
{
    public static async Task<int> RunAsync(string? featuresPath, int dimension, int queryCount, int[] sizes, int[] candidateSizes, int exactQueries, BinaryCodeKind[] kinds, string? output, bool quick, int sources, int m = 16, int efConstruction = 200)
    {
        var rows = quick ? Synthetic(2_000 + queryCount, dimension) : ReadRows(featuresPath ?? throw new ArgumentException("--features FILE is required (or --quick)"), dimension);
        var queries = rows[^queryCount..];
        var distinct = rows[..^queryCount];
        var report = new StringBuilder();
        void Line(string text)
        {
            Console.WriteLine(text);
            report.AppendLine(text);
        }

        var cpu = File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() : "?";
        Line(string.Create(CultureInfo.InvariantCulture, $"# pgvector search benchmark, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {(quick ? "synthetic (--quick)" : Path.GetFileName(featuresPath))}: {distinct.Length} distinct {dimension}-d vectors, {queries.Length} held-out queries; {cpu}, {Environment.ProcessorCount} cores, load average {LoadAverage()}"));
        string[] settings = quick
            ? ["fsync = off", "shared_buffers = 256MB"]
            : ["fsync = on", "synchronous_commit = on", "full_page_writes = on", "shared_buffers = 2GB", "max_parallel_workers_per_gather = 2", "maintenance_work_mem = 1GB", "max_wal_size = 2GB", "log_min_duration_statement = 1000"];
        await using var server = await PostgresServer.StartAsync(settings);
        await using var dataSource = NpgsqlDataSource.Create(server.ConnectionString + ";Command Timeout=0");
        foreach (var size in quick ? [2_000] : sizes)
        {
            var data = Build(distinct, size);
            Line(string.Empty);
            Line(string.Create(CultureInfo.InvariantCulture, $"## {size:N0} rows ({Math.Min(size, distinct.Length):N0} distinct{(size > distinct.Length ? ", the rest noisy replicas" : string.Empty)})"));

            await using var embedded = EmbeddedVectorStore.Create(dimension, "bench");
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

            // "Other images" mode: row r of RealisticFeatures is an augmentation of source image r % sources; excluding
            // every row of the query's own source leaves neighbours that are different images, a harder test of the codes.
            var excluded = new List<HashSet<string>>();
            var hardTruth = new List<HashSet<string>>();
            if (sources > 0)
            {
                for (var q = 0; q < queries.Length; q++)
                {
                    var source = (distinct.Length + q) % sources;
                    var ids = Enumerable.Range(0, size).Where(i => (i % distinct.Length) % sources == source).Select(i => $"r{i}").ToHashSet();
                    excluded.Add(ids);
                    var hits = await embedded.SearchAsync(queries[q], new VectorSearchOptions { Top = 10, ExcludeIds = ids });
                    hardTruth.Add(hits.Select(h => h.Id).ToHashSet());
                }
            }

            var table = $"bench_{size}";
            var store = new PgVectorStore(dataSource, dimension, "bench", new PgVectorStoreOptions { TableName = table, CommandTimeout = TimeSpan.FromHours(1) });
            var load = Stopwatch.StartNew();
            await store.UpsertAsync(data.Select((v, i) => new VectorRecord($"r{i}", v)));
            load.Stop();
            Line(string.Create(CultureInfo.InvariantCulture, $"bulk load (binary COPY + merge, batches of 2,000): {size / load.Elapsed.TotalSeconds:N0} rows/s ({load.Elapsed.TotalSeconds:F1} s)"));
            await Exec(dataSource, $"VACUUM ANALYZE {table}");

            var exactTimes = new List<double>();
            var exactRecall = 0.0;
            for (var i = 0; i < Math.Min(exactQueries, queries.Length); i++)
            {
                var clock = Stopwatch.StartNew();
                var hits = await store.SearchAsync(queries[i], new VectorSearchOptions { Top = 10 });
                exactTimes.Add(clock.Elapsed.TotalMilliseconds);
                exactRecall += hits.Count(h => truth[i].Contains(h.Id)) / 10.0;
            }

            var builds = new List<string>();
            var lines = new List<string>
            {
                "| mode | candidates (ef_search) | recall@10 | median ms | p90 ms | speed-up vs PostgreSQL exact |",
                "|---|---:|---:|---:|---:|---:|",
            };
            var exactMedian = Median(exactTimes);
            var otherImages = new List<string>
            {
                string.Empty,
                "Other images only (every row of the query's own source image excluded; ground truth the embedded store's exact search with the same exclusion):",
                "| codes | candidates | recall@10 | median ms | p90 ms |",
                "|---|---:|---:|---:|---:|",
            };
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"| embedded store, exact (fp32, in process) | all | 1.000 | {Median(embeddedTimes):F1} | {Percentile(embeddedTimes, 0.9):F1} | {exactMedian / Median(embeddedTimes):F1}x |"));
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"| PostgreSQL exact (`<=>`, {exactTimes.Count} queries) | all | {exactRecall / exactTimes.Count:F3} | {exactMedian:F1} | {Percentile(exactTimes, 0.9):F1} | 1.0x |"));

            foreach (var kind in kinds)
            {
                var stages = new List<string>();
                var build = Stopwatch.StartNew();
                await store.CreateApproximateIndexAsync(new ApproximateIndexOptions { CodeKind = kind, MaintenanceWorkMemory = "1GB", M = m, EfConstruction = efConstruction }, new Stages(stages, build));
                build.Stop();
                builds.Add(string.Create(CultureInfo.InvariantCulture, $"{kind.ToString().ToLowerInvariant()} code build (m = {m}, ef_construction = {efConstruction}) {build.Elapsed.TotalSeconds:F1} s: {string.Join("; ", stages)}"));
                foreach (var candidates in candidateSizes)
                {
                    var options = new PgVectorSearchOptions { Store = new VectorSearchOptions { Top = 10 }, Mode = PgVectorSearchMode.Approximate, Candidates = candidates };
                    var times = new List<double>();
                    var recall = 0.0;

                    // One unmeasured query warms the caches for this setting; then every query is timed.
                    await store.SearchAsync(queries[0], options);
                    for (var i = 0; i < queries.Length; i++)
                    {
                        var clock = Stopwatch.StartNew();
                        var hits = await store.SearchAsync(queries[i], options);
                        times.Add(clock.Elapsed.TotalMilliseconds);
                        recall += hits.Count(h => truth[i].Contains(h.Id)) / 10.0;
                    }

                    lines.Add(string.Create(CultureInfo.InvariantCulture, $"| HNSW bit({dimension}), {kind.ToString().ToLowerInvariant()} codes + exact re-rank | {candidates} | {recall / queries.Length:F3} | {Median(times):F1} | {Percentile(times, 0.9):F1} | {exactMedian / Median(times):F1}x |"));
                    if (sources > 0)
                    {
                        var hardTimes = new List<double>();
                        var hardRecall = 0.0;
                        for (var i = 0; i < queries.Length; i++)
                        {
                            var hard = new PgVectorSearchOptions { Store = new VectorSearchOptions { Top = 10, ExcludeIds = excluded[i] }, Mode = PgVectorSearchMode.Approximate, Candidates = candidates };
                            var clock = Stopwatch.StartNew();
                            var hits = await store.SearchAsync(queries[i], hard);
                            hardTimes.Add(clock.Elapsed.TotalMilliseconds);
                            hardRecall += hits.Count(h => hardTruth[i].Contains(h.Id)) / 10.0;
                        }

                        otherImages.Add(string.Create(CultureInfo.InvariantCulture, $"| {kind.ToString().ToLowerInvariant()} | {candidates} | {hardRecall / queries.Length:F3} | {Median(hardTimes):F1} | {Percentile(hardTimes, 0.9):F1} |"));
                    }
                }
            }

            foreach (var line in builds.Concat(lines).Concat(sources > 0 ? otherImages : []))
            {
                Line(line);
            }

            Line(string.Create(CultureInfo.InvariantCulture, $"load average at the end: {LoadAverage()}"));
            await Exec(dataSource, $"DROP TABLE {table}; DELETE FROM imagesimilarity_stores WHERE table_name = '{table}'");
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

    private static float[][] ReadRows(string path, int dimension)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length % (dimension * sizeof(float)) != 0)
        {
            throw new InvalidDataException($"'{path}' is {bytes.Length} bytes, not a whole number of {dimension}-float rows; pass --dims.");
        }

        var count = bytes.Length / (dimension * sizeof(float));
        var rows = new float[count][];
        for (var i = 0; i < count; i++)
        {
            rows[i] = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(i * dimension * sizeof(float), dimension * sizeof(float))).ToArray();
        }

        return rows;
    }

    /// <summary>Clustered sparse non-negative vectors (like ReLU features): 50 centres, members with noise, 60 % zeros.</summary>
    private static float[][] Synthetic(int count, int dimension)
    {
        var random = new Random(5);
        var centres = Enumerable.Range(0, 50).Select(_ => Enumerable.Range(0, dimension).Select(_ => random.NextDouble() < 0.4 ? (float)random.NextDouble() : 0f).ToArray()).ToArray();
        return Enumerable.Range(0, count).Select(i => centres[i % centres.Length].Select(x => x == 0 ? 0 : Math.Max(0f, x + (float)((random.NextDouble() - 0.5) * 0.5))).ToArray()).ToArray();
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

            var copy = new float[source.Length];
            for (var d = 0; d < copy.Length; d++)
            {
                copy[d] = source[d] == 0 ? 0 : source[d] * (float)(1 + (0.05 * NextGaussian(random)));
            }

            data[i] = copy;
        }

        return data;
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

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

    /// <summary>Collects the build's progress lines, each with the time since the build started.</summary>
    private sealed class Stages(List<string> lines, Stopwatch clock) : IProgress<string>
    {
        public void Report(string value) => lines.Add(string.Create(CultureInfo.InvariantCulture, $"[{clock.Elapsed.TotalSeconds:F1} s] {value}"));
    }
}
