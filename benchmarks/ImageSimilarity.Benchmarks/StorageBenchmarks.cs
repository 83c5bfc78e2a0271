using BenchmarkDotNet.Attributes;
using ImageSimilarity.Storage;

namespace ImageSimilarity.Benchmarks;

/// <summary>
/// The SQLite index beside the old single-file format on 10,000 x 4096: upsert + commit of 1,000 records into a
/// store of 10,000, the old store's equivalent (upsert + checkpoint save of the whole file), and open of both.
/// The 100,000 x 4096 comparison with interleaved rounds is <c>--storage</c> (<see cref="StorageComparison"/>).
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory("Storage")]
public class StorageBenchmarks
{
    private const int Count = 10_000;
    private VectorRecord[] _added = null!;
    private EmbeddedVectorStore _bound = null!;
    private EmbeddedVectorStore _memory = null!;
    private string _directory = null!;
    private string _sqlite = null!;
    private string _legacy = null!;

    [Params(VectorPrecision.Single, VectorPrecision.Half)]
    public VectorPrecision Precision { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _directory = Path.Combine(Path.GetTempPath(), $"imgsim-bench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_directory);
        _memory = EmbeddedVectorStore.Create(BenchmarkData.Dimension, "benchmark-random", new EmbeddedVectorStoreOptions { Precision = Precision });
        await _memory.UpsertAsync(BenchmarkData.Records(Count, seed: 3)).ConfigureAwait(false);
        _sqlite = Path.Combine(_directory, "index.db");
        _legacy = Path.Combine(_directory, "index.isvs");
        await _memory.SaveAsync(_sqlite).ConfigureAwait(false);
        await _memory.SaveLegacyAsync(_legacy).ConfigureAwait(false);
        _bound = await EmbeddedVectorStore.OpenAsync(_sqlite).ConfigureAwait(false);

        // The same 1,000 ids every time: after the first invocation each upsert replaces them (same cost: one transaction).
        _added = BenchmarkData.Records(1000, seed: 4).Select((r, i) => new VectorRecord($"added/{i}", r.Vector, r.Metadata)).ToArray();
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _bound.DisposeAsync();
        await _memory.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Description = "SQLite: upsert + commit 1,000 into 10k")]
    public Task UpsertCommit() => _bound.UpsertAsync(_added);

    [Benchmark(Baseline = true, Description = "old format: upsert 1,000 + checkpoint save of 10k")]
    public async Task UpsertSaveLegacy()
    {
        await _memory.UpsertAsync(_added).ConfigureAwait(false);
        await _memory.SaveLegacyAsync(_legacy).ConfigureAwait(false);
    }

    [Benchmark(Description = "SQLite: open 10k (load + verify checksums)")]
    public async Task<long> Open()
    {
        await using var store = await EmbeddedVectorStore.OpenAsync(_sqlite).ConfigureAwait(false);
        return store.Count;
    }

    [Benchmark(Description = "old format: open 10k (read + verify checksums)")]
    public async Task<long> OpenLegacy()
    {
        await using var store = await EmbeddedVectorStore.OpenAsync(_legacy).ConfigureAwait(false);
        return store.Count;
    }
}
