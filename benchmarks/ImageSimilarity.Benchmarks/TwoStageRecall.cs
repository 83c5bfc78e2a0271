using System.Diagnostics;
using System.Globalization;
using ImageSimilarity.Storage;
using Microsoft.Data.Sqlite;

namespace ImageSimilarity.Benchmarks;

/// <summary>
/// <c>--twostage FILE [queries] [rows] [candidates,...] [threads] [probe.db|-] [single|half|int8]</c>: recall@10 and latency of the two-stage search (binary
/// median codes, Hamming scan, exact re-rank) against exact fp32 search, for several candidate counts, on real feature
/// vectors (raw little-endian float32 4096-d rows, e.g. /work/big/features/resnet18-4096.f32). <c>queries</c> rows
/// (default 100, spread evenly over the file) are held out as queries; the others are stored, and when <c>rows</c>
/// is larger than the file, seeded noisy copies of them (each value times 1 + 0.1 N(0,1), kept non-negative) fill the
/// store up to <c>rows</c>. Each query runs exact and every candidate count one after the other (interleaved), so the
/// latency ratios come from the same moments; times are medians (Stopwatch, shared machine). <c>threads</c> is the
/// store's <see cref="EmbeddedVectorStoreOptions.MaxDegreeOfParallelism"/> (default: all cores). With
/// <c>probe.db</c>, the store is then saved there as an index file and the time to read 200 random records' vectors
/// from it by id (what a re-rank from disk would read; the file was just written, so it is in the page cache) is
/// timed, median over the queries; the file is deleted afterwards. The last argument is the store's precision
/// (default single); recall is then against exact search of that same store, not of fp32.
/// </summary>
internal static class TwoStageRecall
{
    public static async Task<int> RunAsync(string[] args)
    {
        var path = args[1];
        var queryCount = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 100;
        var rows = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 0;
        var counts = args.Length > 4
            ? args[4].Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray()
            : [50, 100, 200, 400, 800, 1600];
        var threads = args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : -1;
        var precision = args.Length > 7 ? Enum.Parse<VectorPrecision>(args[7], ignoreCase: true) : VectorPrecision.Single;
        const int Dim = BenchmarkData.Dimension;
        var total = (int)(new FileInfo(path).Length / (Dim * 4L));
        var (queries, held) = await BenchmarkData.ReadHeldOutAsync(path, total, queryCount).ConfigureAwait(false);
        var real = held.ConvertAll(r => r.Vector);
        held.Clear(); // only `real` holds the rows, which it drops once they are stored

        await using var store = EmbeddedVectorStore.Create(Dim, "features", new EmbeddedVectorStoreOptions { MaxDegreeOfParallelism = threads, Precision = precision });
        await store.UpsertAsync(real.Select((v, i) => new VectorRecord($"r{i}", v))).ConfigureAwait(false);
        var stored = real.Count;
        var random = new Random(20261126);
        var batch = new List<VectorRecord>(256);
        while (stored < rows)
        {
            var source = real[random.Next(real.Count)];
            var copy = new float[Dim];
            for (var d = 0; d < Dim; d++)
            {
                copy[d] = Math.Max(0f, source[d] * (1f + (0.1f * Gaussian(random))));
            }

            if (copy.All(x => x == 0))
            {
                continue;
            }

            batch.Add(new VectorRecord($"n{stored}", copy));
            stored++;
            if (batch.Count == 256 || stored == rows)
            {
                await store.UpsertAsync(batch).ConfigureAwait(false);
                batch.Clear();
            }
        }

        real.Clear();
        var build = Stopwatch.StartNew();
        await store.BuildBinaryCodesAsync().ConfigureAwait(false);
        build.Stop();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"twostage: {stored:N0} stored rows ({Math.Max(0, stored - (total - queries.Count)):N0} noisy copies), {queries.Count} held-out queries, from {path}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"twostage: vectors {store.VectorMemoryBytes / 1e6:F1} MB, codes {store.BinaryCodeMemoryBytes / 1e6:F1} MB, codes built in {build.Elapsed.TotalSeconds:F1} s; searches on {(threads == -1 ? Environment.ProcessorCount : threads)} threads of {Environment.ProcessorCount} cores"));

        var exactTimes = new List<double>();
        var times = counts.Select(_ => new List<double>()).ToArray();
        var hits = new int[counts.Length];
        var worst = Enumerable.Repeat(10, counts.Length).ToArray();
        foreach (var q in queries)
        {
            var sw = Stopwatch.StartNew();
            var exact = await store.SearchAsync(q).ConfigureAwait(false);
            exactTimes.Add(sw.Elapsed.TotalMilliseconds);
            var truth = exact.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
            for (var c = 0; c < counts.Length; c++)
            {
                sw.Restart();
                var found = await store.SearchAsync(q, new VectorSearchOptions { Candidates = counts[c] }).ConfigureAwait(false);
                times[c].Add(sw.Elapsed.TotalMilliseconds);
                var h = found.Count(r => truth.Contains(r.Id));
                hits[c] += h;
                worst[c] = Math.Min(worst[c], h);
            }
        }

        var exactMedian = Benchmarking.MedianTimer.MedianOf(exactTimes);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"twostage: exact {precision}: median query {exactMedian:F2} ms"));
        for (var c = 0; c < counts.Length; c++)
        {
            var median = Benchmarking.MedianTimer.MedianOf(times[c]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"twostage: {counts[c]} candidates: recall@10 {hits[c] / (10.0 * queries.Count):F4} (worst query {worst[c]}/10), median query {median:F2} ms ({median / exactMedian:F2}x exact)"));
        }

        if (args.Length > 6 && args[6] != "-")
        {
            await ProbeDiskReadsAsync(store, args[6], queries.Count).ConfigureAwait(false);
        }

        return 0;
    }

    private static async Task ProbeDiskReadsAsync(EmbeddedVectorStore store, string path, int rounds)
    {
        var save = Stopwatch.StartNew();
        await store.SaveAsync(path).ConfigureAwait(false);
        save.Stop();
        var ids = store.GetIds();
        var random = new Random(7);
        var times = new List<double>();
        try
        {
            using var index = SqliteIndex.Open(path, allowWrite: false);
            index.ReadHeader();
            var vector = new byte[index.RowBytes];
            for (var round = 0; round < rounds; round++)
            {
                var sw = Stopwatch.StartNew();
                index.Begin(write: false);
                for (var i = 0; i < 200; i++)
                {
                    if (!index.TryReadRecord(ids[random.Next(ids.Count)], vector, out _, out _))
                    {
                        throw new InvalidOperationException("A stored id is missing from the saved index.");
                    }
                }

                index.Commit();
                times.Add(sw.Elapsed.TotalMilliseconds);
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            foreach (var file in new[] { path, path + "-wal", path + "-shm" })
            {
                File.Delete(file);
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"twostage: index file written in {save.Elapsed.TotalSeconds:F1} s; reading 200 random records' vectors by id from it (page cache warm): median {Benchmarking.MedianTimer.MedianOf(times):F2} ms"));
    }

    private static float Gaussian(Random random) => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
}
