using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using ImageSimilarity.Storage;

namespace ImageSimilarity.Benchmarks;

/// <summary>
/// <c>--kernels [rows]</c>: where a scan's time goes, one thread, with the rows in the L2 cache (the kernels' own cost,
/// no memory wait) and then in main memory (<c>rows</c> rows of 4096, default 20,000): nanoseconds per row for summing
/// the bytes (the stream baseline), each scoring kernel, and the scan's per-row extras (threshold test). Stopwatch,
/// best of several passes, so other processes' load shows as little as possible.
/// </summary>
internal static class KernelProbe
{
    private const int Dim = BenchmarkData.Dimension;

    public static int Run(string[] args)
    {
        var rows = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20_000;
        Console.WriteLine($"kernels: {Dim} dims; Vector512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}, half group {VectorKernels.HalfGroup}");
        Probe("warm-up (JIT)", 48, repeat: 20);
        Probe("L2-resident (48 half rows, 24 float rows)", 48, repeat: 400);
        Probe($"memory ({rows:N0} rows)", rows, repeat: 3);
        return 0;
    }

    private static void Probe(string label, int rows, int repeat)
    {
        var random = new Random(1);
        var floats = new float[rows * Dim / 2];
        var halves = new Half[rows * Dim];
        for (var i = 0; i < halves.Length; i++)
        {
            halves[i] = (Half)random.NextSingle();
        }

        for (var i = 0; i < floats.Length; i++)
        {
            floats[i] = random.NextSingle();
        }

        var query = BenchmarkData.Vector(random);
        var prepared = new float[Dim];
        VectorKernels.PrepareHalfQuery(query, prepared);
        var halfRows = rows;
        var floatRows = rows / 2;
        var sink = 0f;
        Report(label, "sum of the half bytes (stream)", halfRows, repeat, () => sink += TensorPrimitives.Sum(MemoryMarshal.Cast<Half, float>(halves.AsSpan())));
        Report(label, "DotHalf (lanes of two halves)", halfRows, repeat, () =>
        {
            for (var r = 0; r < halfRows; r++)
            {
                sink += VectorKernels.DotHalf(halves.AsSpan(r * Dim, Dim), prepared);
            }
        });
        Report(label, "DotHalf2 (two rows per query load)", halfRows, repeat, () =>
        {
            for (var r = 0; r + 1 < halfRows; r += 2)
            {
                VectorKernels.DotHalf2(halves.AsSpan(r * Dim, Dim), halves.AsSpan((r + 1) * Dim, Dim), prepared, out var a, out var b);
                sink += a + b;
            }
        });
        Report(label, "sum of the float bytes (stream, same bytes)", floatRows, repeat, () => sink += TensorPrimitives.Sum(floats));
        Report(label, "Dot2 float", floatRows, repeat, () =>
        {
            for (var r = 0; r + 1 < floatRows; r += 2)
            {
                VectorKernels.Dot2(floats.AsSpan(r * Dim, Dim), floats.AsSpan((r + 1) * Dim, Dim), query, out var a, out var b);
                sink += a + b;
            }
        });
        GC.KeepAlive(sink);
    }

    private static void Report(string label, string what, int rows, int repeat, Action action)
    {
        action();
        var best = double.MaxValue;
        for (var pass = 0; pass < 5; pass++)
        {
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < repeat; i++)
            {
                action();
            }

            best = Math.Min(best, sw.Elapsed.TotalNanoseconds / repeat / rows);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"kernels: {label}: {what}: {best:F0} ns/row"));
    }
}
