using System.Runtime.InteropServices;
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

    /// <summary>
    /// Reads the first <paramref name="rows"/> rows of a raw little-endian float32 file of <see cref="Dimension"/>-d
    /// feature vectors and holds out <paramref name="queryCount"/> of them as queries, spread evenly (row <c>i</c> with
    /// <c>i % step == step / 2</c>, <c>step = rows / queryCount</c>, as benchmarks/peers/twostage_data.py does); the
    /// other rows come back with their row numbers.
    /// </summary>
    public static async Task<(List<float[]> Queries, List<(int Row, float[] Vector)> Stored)> ReadHeldOutAsync(string path, int rows, int queryCount)
    {
        var bytes = new byte[Dimension * 4];
        var queries = new List<float[]>();
        var stored = new List<(int, float[])>();
        var step = Math.Max(1, rows / queryCount);
        await using var stream = File.OpenRead(path);
        for (var i = 0; i < rows; i++)
        {
            await stream.ReadExactlyAsync(bytes).ConfigureAwait(false);
            var v = MemoryMarshal.Cast<byte, float>(bytes).ToArray();
            if (i % step == step / 2 && queries.Count < queryCount)
            {
                queries.Add(v);
            }
            else
            {
                stored.Add((i, v));
            }
        }

        return (queries, stored);
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
