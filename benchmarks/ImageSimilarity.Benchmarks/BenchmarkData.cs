using ImageSimilarity.Storage;

namespace ImageSimilarity.Benchmarks;

/// <summary>Seeded data shared by the benchmarks.</summary>
internal static class BenchmarkData
{
    public const int Dimension = 4096;

    /// <summary>Fills a store with <paramref name="count"/> seeded random non-negative vectors (like ReLU features).</summary>
    public static async Task<EmbeddedVectorStore> CreateStoreAsync(int count, VectorPrecision precision, int seed = 42)
    {
        var store = EmbeddedVectorStore.Create(Dimension, "benchmark-random", new EmbeddedVectorStoreOptions { Precision = precision });
        await store.UpsertAsync(Records(count, seed)).ConfigureAwait(false);
        return store;
    }

    public static IEnumerable<VectorRecord> Records(int count, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            // A fresh array per record: the store copies it, and the record may still be in its pending batch.
            yield return new VectorRecord($"img/{i:D6}.jpg", Vector(random), new Dictionary<string, string> { ["source"] = $"/data/img/{i:D6}.jpg" });
        }
    }

    public static float[] Vector(Random random)
    {
        var v = new float[Dimension];
        for (var d = 0; d < v.Length; d++)
        {
            v[d] = random.NextSingle();
        }

        return v;
    }

    public static ReadOnlyMemory<float>[] Queries(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (ReadOnlyMemory<float>)Vector(random)).ToArray();
    }
}
