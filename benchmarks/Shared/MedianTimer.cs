using System.Diagnostics;

namespace ImageSimilarity.Benchmarking;

/// <summary>
/// The one timing loop of the peer comparisons (the library's harness and the ONNX Runtime peer): an optional warm-up
/// call, then <c>n</c> timed runs; the median wall time and the mean process CPU time (all threads) per run.
/// </summary>
internal static class MedianTimer
{
    public static (double Seconds, double CpuSeconds) Measure(int n, Action run, bool warmUp = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        if (warmUp)
        {
            run();
        }

        var times = new double[n];
        var cpu = Environment.CpuUsage.TotalTime;
        for (var i = 0; i < n; i++)
        {
            var sw = Stopwatch.StartNew();
            run();
            times[i] = sw.Elapsed.TotalSeconds;
        }

        return (MedianOf(times), (Environment.CpuUsage.TotalTime - cpu).TotalSeconds / n);
    }

    public static async Task<(double Seconds, double CpuSeconds)> MeasureAsync(int n, Func<Task> run, bool warmUp = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        if (warmUp)
        {
            await run().ConfigureAwait(false);
        }

        var times = new double[n];
        var cpu = Environment.CpuUsage.TotalTime;
        for (var i = 0; i < n; i++)
        {
            var sw = Stopwatch.StartNew();
            await run().ConfigureAwait(false);
            times[i] = sw.Elapsed.TotalSeconds;
        }

        return (MedianOf(times), (Environment.CpuUsage.TotalTime - cpu).TotalSeconds / n);
    }

    /// <summary>The median (the upper one of an even count, as the peers' scripts take it).</summary>
    public static double MedianOf(IReadOnlyCollection<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}
