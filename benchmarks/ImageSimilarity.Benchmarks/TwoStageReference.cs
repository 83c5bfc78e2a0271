using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using TorchSharp;

namespace ImageSimilarity.Benchmarks;

/// <summary>
/// <c>--twostage-reference BASE.f32 QUERIES.f32 ROWS OUT_PREFIX</c>: the exact fp32 cosine top 10 of every query
/// over the first ROWS rows of BASE.f32 (unit rows, raw float32 4096-d), in chunks of 32,768 rows read from the file
/// (one chunk in memory at a time), each chunk scored with one float32 matrix product in libtorch (TorchSharp's
/// MKL/oneDNN GEMM; the same computation as <c>twostage_data.py reference</c>, whose Debian numpy runs on the
/// reference BLAS at about 2 GFLOPS), running top 10 merged on the CPU (ties: lower row first). Writes
/// OUT_PREFIX.i32 (queries x 10 int32 row numbers) and OUT_PREFIX.f32 (their cosines). Independent of the store's
/// own search code, so it can serve as the reference for its recall.
/// </summary>
internal static class TwoStageReference
{
    private const int Dim = BenchmarkData.Dimension;

    public static int Run(string[] args)
    {
        var basePath = args[1];
        var queryBytes = File.ReadAllBytes(args[2]);
        var rows = long.Parse(args[3], CultureInfo.InvariantCulture);
        var prefix = args[4];
        var queryCount = queryBytes.Length / (Dim * 4);
        var queryFloats = MemoryMarshal.Cast<byte, float>(queryBytes).ToArray();
        using var q = torch.tensor(queryFloats, [queryCount, Dim]);
        var bestIds = new long[queryCount][];
        var bestScores = new float[queryCount][];
        for (var i = 0; i < queryCount; i++)
        {
            bestIds[i] = Enumerable.Repeat(-1L, 10).ToArray();
            bestScores[i] = Enumerable.Repeat(float.NegativeInfinity, 10).ToArray();
        }

        const int Chunk = 32_768;
        var buffer = new byte[Chunk * Dim * 4];
        var sw = Stopwatch.StartNew();
        using var stream = new FileStream(basePath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        for (long first = 0; first < rows; first += Chunk)
        {
            var n = (int)Math.Min(Chunk, rows - first);
            stream.ReadExactly(buffer.AsSpan(0, n * Dim * 4));
            var floats = MemoryMarshal.Cast<byte, float>(buffer.AsSpan(0, n * Dim * 4)).ToArray();
            using var scope = torch.NewDisposeScope();
            var chunk = torch.tensor(floats, [n, Dim]);
            var scores = torch.mm(q, chunk.t());
            var (values, indices) = torch.topk(scores, Math.Min(10, n), dim: 1);
            var v = values.data<float>().ToArray();
            var ix = indices.data<long>().ToArray();
            var k = (int)values.shape[1];
            for (var i = 0; i < queryCount; i++)
            {
                var merged = Enumerable.Range(0, 10).Select(j => (Id: bestIds[i][j], Score: bestScores[i][j]))
                    .Concat(Enumerable.Range(0, k).Select(j => (Id: first + ix[(i * k) + j], Score: v[(i * k) + j])))
                    .Where(p => p.Id >= 0)
                    .OrderByDescending(p => p.Score).ThenBy(p => p.Id).Take(10).ToArray();
                bestIds[i] = merged.Select(p => p.Id).ToArray();
                bestScores[i] = merged.Select(p => p.Score).ToArray();
            }

            if ((first / Chunk) % 8 == 7)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"twostage-reference: {first + n:N0} rows, {sw.Elapsed.TotalSeconds:F0} s"));
            }
        }

        File.WriteAllBytes(prefix + ".i32", MemoryMarshal.AsBytes(bestIds.SelectMany(r => r.Select(x => (int)x)).ToArray().AsSpan()).ToArray());
        File.WriteAllBytes(prefix + ".f32", MemoryMarshal.AsBytes(bestScores.SelectMany(r => r).ToArray().AsSpan()).ToArray());
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"twostage-reference: {rows:N0} rows, {queryCount} queries, written to {prefix}.i32/.f32 in {sw.Elapsed.TotalSeconds:F0} s ({torch.get_num_threads()} libtorch threads)"));
        return 0;
    }
}
