using System.Diagnostics;
using System.Globalization;
using ImageSimilarity.Storage;

namespace ImageSimilarity.Benchmarks;

/// <summary>
/// A quick Stopwatch check (no BenchmarkDotNet statistics) of search time against stream time:
/// <c>ImageSimilarity.Benchmarks --quick [count] [single|half] [threads]</c>. For tuning only; report numbers from
/// the BenchmarkDotNet runs.
/// </summary>
internal static class QuickCheck
{
    public static async Task<int> RunAsync(string[] args)
    {
        var count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100_000;
        var precision = args.Length > 2 && args[2] == "half" ? VectorPrecision.Half : VectorPrecision.Single;
        var bench = new SearchBenchmarks { Count = count, Precision = precision };
        await bench.SetupAsync().ConfigureAwait(false);
        for (var round = 0; round < 3; round++)
        {
            var stream = Median(5, () => bench.StreamOnce());
            var one = Median(5, () => bench.SearchOne().GetAwaiter().GetResult());
            var batch = Median(3, () => bench.SearchBatch32().GetAwaiter().GetResult()) / 32;
            Console.WriteLine($"{count} {precision}: stream {stream:F1} ms, search {one:F1} ms ({one / stream:F2}x), batch-32 {batch:F1} ms/query");
        }

        await bench.CleanupAsync().ConfigureAwait(false);
        return 0;
    }

    private static double Median<T>(int n, Func<T> action)
    {
        var times = new double[n];
        for (var i = 0; i < n; i++)
        {
            var sw = Stopwatch.StartNew();
            action();
            times[i] = sw.Elapsed.TotalMilliseconds;
        }

        Array.Sort(times);
        return times[n / 2];
    }
}
