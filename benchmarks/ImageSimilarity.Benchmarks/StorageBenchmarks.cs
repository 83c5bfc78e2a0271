using BenchmarkDotNet.Attributes;
using ImageSimilarity.Storage;

namespace ImageSimilarity.Benchmarks;

/// <summary>Upserting, saving and opening a 10,000 x 4096 store.</summary>
[MemoryDiagnoser]
[BenchmarkCategory("Storage")]
public class StorageBenchmarks
{
    private const int Count = 10_000;
    private VectorRecord[] _records = null!;
    private EmbeddedVectorStore _store = null!;
    private string _directory = null!;
    private string _saved = null!;

    [Params(VectorPrecision.Single, VectorPrecision.Half)]
    public VectorPrecision Precision { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _records = BenchmarkData.Records(Count, seed: 3).ToArray();
        _store = EmbeddedVectorStore.Create(BenchmarkData.Dimension, "benchmark-random", new EmbeddedVectorStoreOptions { Precision = Precision });
        await _store.UpsertAsync(_records).ConfigureAwait(false);
        _directory = Path.Combine(Path.GetTempPath(), $"imgsim-bench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_directory);
        _saved = Path.Combine(_directory, "saved.isvs");
        await _store.SaveAsync(_saved).ConfigureAwait(false);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Description = "upsert 10k x 4096 into a new store")]
    public async Task<long> Upsert()
    {
        await using var store = EmbeddedVectorStore.Create(BenchmarkData.Dimension, "benchmark-random", new EmbeddedVectorStoreOptions { Precision = Precision });
        await store.UpsertAsync(_records).ConfigureAwait(false);
        return store.Count;
    }

    [Benchmark(Description = "save 10k x 4096 (temp file + fsync + rename)")]
    public Task Save() => _store.SaveAsync(Path.Combine(_directory, "bench.isvs"));

    [Benchmark(Description = "open 10k x 4096 (read + verify checksums)")]
    public async Task<long> Open()
    {
        await using var store = await EmbeddedVectorStore.OpenAsync(_saved).ConfigureAwait(false);
        return store.Count;
    }
}
