using System.Diagnostics;
using System.Globalization;
using ImageSimilarity.Storage;

namespace ImageSimilarity.Benchmarks;

/// <summary>
/// An interleaved Stopwatch check of search time against stream time:
/// <c>ImageSimilarity.Benchmarks --quick [count] [single|half] [rounds]</c>. Each round streams the vectors, runs
/// one search, streams again and runs one batch of 32, so both sides see the same load from other processes; the
/// per-round ratios are reported as medians. Use it on a shared machine, next to the BenchmarkDotNet numbers.
/// </summary>
internal static class QuickCheck
{
    public static async Task<int> RunAsync(string[] args)
    {
        var count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100_000;
        var precision = args.Length > 2 && args[2] == "half" ? VectorPrecision.Half : VectorPrecision.Single;
        var rounds = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 15;
        var bench = new SearchBenchmarks { Count = count, Precision = precision };
        await bench.SetupAsync().ConfigureAwait(false);

        // Warm-up (JIT, page faults).
        Time(() => bench.StreamOnce());
        Time(() => bench.SearchOne().GetAwaiter().GetResult());
        Time(() => bench.SearchBatch32().GetAwaiter().GetResult());

        var stream = new List<double>();
        var one = new List<double>();
        var batch = new List<double>();
        var oneRatio = new List<double>();
        var batchRatio = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            var s1 = Time(() => bench.StreamOnce());
            var o = Time(() => bench.SearchOne().GetAwaiter().GetResult());
            var s2 = Time(() => bench.StreamOnce());
            var b = Time(() => bench.SearchBatch32().GetAwaiter().GetResult()) / 32;
            stream.Add((s1 + s2) / 2);
            one.Add(o);
            batch.Add(b);
            oneRatio.Add(o / ((s1 + s2) / 2));
            batchRatio.Add(b / s2);
        }

        Console.WriteLine(
            $"{count} x {BenchmarkData.Dimension} {precision}, {rounds} interleaved rounds (medians): stream {Median(stream):F1} ms, "
            + $"search 1 query {Median(one):F1} ms ({Median(oneRatio):F2}x stream), batch-32 {Median(batch):F1} ms/query ({Median(batchRatio):F2}x stream)");
        await bench.CleanupAsync().ConfigureAwait(false);
        return 0;
    }

    private static double Time<T>(Func<T> action)
    {
        var sw = Stopwatch.StartNew();
        action();
        return sw.Elapsed.TotalMilliseconds;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}
