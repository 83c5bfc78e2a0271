using ImageSimilarity.TestSupport;

namespace ImageSimilarity.Storage;

/// <summary>Seeded random vectors, the seed-sample Keras features and a float64 brute-force reference ranking.</summary>
internal static class TestVectors
{
    public static float[] Random(Random random, int dimension)
    {
        var v = new float[dimension];
        do
        {
            for (var i = 0; i < v.Length; i++)
            {
                v[i] = (float)((random.NextDouble() * 2) - 1);
            }
        }
        while (Array.TrueForAll(v, x => x == 0f));

        return v;
    }

    public static float[][] Random(int seed, int count, int dimension)
    {
        var random = new Random(seed);
        var rows = new float[count][];
        for (var i = 0; i < count; i++)
        {
            rows[i] = Random(random, dimension);
        }

        return rows;
    }

    /// <summary>Loads the 88 x 4096 Keras VGG16 fc2 vectors of the seed sample (absent: fails in CI, skips elsewhere).</summary>
    public static (string[] Names, float[][] Vectors) LoadSeedSample()
    {
        var dir = TestPaths.RequireSeedSample();
        var file = Path.Combine(dir, "keras-vgg16-fc2.f32");
        var names = File.ReadAllLines(Path.Combine(dir, "keras-vgg16-fc2.names.txt")).Where(l => l.Length > 0).ToArray();
        var bytes = File.ReadAllBytes(file);
        const int Dimension = 4096;
        Assert.Equal(names.Length * Dimension * 4, bytes.Length);
        var vectors = new float[names.Length][];
        for (var i = 0; i < names.Length; i++)
        {
            vectors[i] = new float[Dimension];
            Buffer.BlockCopy(bytes, i * Dimension * 4, vectors[i], 0, Dimension * 4);
        }

        return (names, vectors);
    }

    /// <summary>Cosine similarities in float64 of <paramref name="query"/> to every row.</summary>
    public static double[] CosineF64(float[] query, float[][] rows)
    {
        var result = new double[rows.Length];
        var qn = Math.Sqrt(query.Sum(x => (double)x * x));
        for (var r = 0; r < rows.Length; r++)
        {
            double dot = 0, n = 0;
            for (var i = 0; i < query.Length; i++)
            {
                dot += (double)query[i] * rows[r][i];
                n += (double)rows[r][i] * rows[r][i];
            }

            result[r] = dot / (qn * Math.Sqrt(n));
        }

        return result;
    }

    /// <summary>
    /// Checks that <paramref name="actual"/> is the top of the float64 ranking: same length, each result's score close
    /// to its float64 score, and in an order that differs from the exact one only between near-ties.
    /// </summary>
    /// <returns><see langword="true"/> when the id lists are identical.</returns>
    public static bool AssertRanking(IReadOnlyList<VectorSearchResult> actual, string[] ids, double[] exact, int top, double scoreTolerance)
    {
        var order = Enumerable.Range(0, ids.Length).OrderByDescending(i => exact[i]).ThenBy(i => i).Take(top).ToArray();
        Assert.Equal(order.Length, actual.Count);
        var index = ids.Select((id, i) => (id, i)).ToDictionary(p => p.id, p => p.i);
        var identical = true;
        for (var k = 0; k < order.Length; k++)
        {
            var got = index[actual[k].Id];
            Assert.InRange(actual[k].Similarity, exact[got] - scoreTolerance, exact[got] + scoreTolerance);

            // The k-th result must score (exactly) within the tolerance of the exact k-th score: anything else is a
            // real ranking error, not a tie broken differently by rounding.
            Assert.InRange(exact[got], exact[order[k]] - (2 * scoreTolerance), exact[order[k]] + (2 * scoreTolerance));
            identical &= got == order[k];
        }

        Assert.Equal(actual.Count, actual.Select(r => r.Id).Distinct().Count());
        return identical;
    }
}
