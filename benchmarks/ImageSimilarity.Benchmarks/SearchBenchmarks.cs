using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using ImageSimilarity.Storage;

namespace ImageSimilarity.Benchmarks;

/// <summary>
/// Exact top-10 search over N x 4096 vectors, against the time to stream the same bytes from memory once
/// (the lower bound for any exact search that reads every vector).
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory("Search")]
public class SearchBenchmarks
{
    private const int Batch = 32;
    private EmbeddedVectorStore _store = null!;
    private ReadOnlyMemory<float>[] _queries = null!;
    private int _next;

    [Params(10_000, 100_000)]
    public int Count { get; set; }

    [Params(VectorPrecision.Single, VectorPrecision.Half)]
    public VectorPrecision Precision { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        _store = await BenchmarkData.CreateStoreAsync(Count, Precision);
        var after = GC.GetTotalMemory(forceFullCollection: true);
        var raw = (long)Count * (Precision switch { VectorPrecision.Half => BenchmarkData.Dimension * 2, VectorPrecision.Int8 => Int8Rows.RowBytes(BenchmarkData.Dimension), _ => BenchmarkData.Dimension * 4 });
        Console.WriteLine(
            $"// [memory] {Count} x {BenchmarkData.Dimension} {Precision}: raw vectors {raw / 1e6:F1} MB, vector blocks {_store.VectorMemoryBytes / 1e6:F1} MB "
            + $"({(double)_store.VectorMemoryBytes / raw:F3}x), whole store incl. ids+metadata {(after - before) / 1e6:F1} MB ({(double)(after - before) / raw:F3}x)");
        _queries = BenchmarkData.Queries(Batch, seed: 7);
    }

    [GlobalCleanup]
    public async Task CleanupAsync() => await _store.DisposeAsync();

    /// <summary>Reads every stored vector byte once on all cores (a sum, so nothing is optimised away).</summary>
    [Benchmark(Baseline = true, Description = "stream vector bytes once")]
    public float StreamOnce()
    {
        var blocks = _store.Blocks;
        var rows = (int)_store.Count;
        var totals = new float[blocks.BlockCount];
        Parallel.For(0, blocks.BlockCount, b =>
        {
            var n = Math.Min(blocks.RowsPerBlock, rows - (b * blocks.RowsPerBlock));
            var bytes = blocks.RowBytes(b, 0, n);
            totals[b] = TensorPrimitives.Sum(MemoryMarshal.Cast<byte, float>(bytes));
        });
        return TensorPrimitives.Sum(totals);
    }

    [Benchmark(Description = "search top-10, 1 query")]
    public async Task<int> SearchOne()
    {
        var query = _queries[_next++ % Batch];
        return (await _store.SearchAsync(query).ConfigureAwait(false)).Count;
    }

    [Benchmark(OperationsPerInvoke = Batch, Description = "search top-10, batch of 32 (per query)")]
    public async Task<int> SearchBatch32() => (await _store.SearchBatchAsync(_queries).ConfigureAwait(false)).Count;
}
