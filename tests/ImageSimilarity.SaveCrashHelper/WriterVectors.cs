namespace ImageSimilarity.Storage;

/// <summary>The vectors the writer stores, so the tests can check what they read.</summary>
internal static class WriterVectors
{
    public const string ModelId = "multi-process-test";

    public static float[] For(string id, int dimension)
    {
        // A stable hash of the id (string.GetHashCode is randomised per process).
        var seed = 17;
        foreach (var c in id)
        {
            seed = unchecked((seed * 31) + c);
        }

        var random = new Random(seed);
        var v = new float[dimension];
        for (var d = 0; d < dimension; d++)
        {
            v[d] = (float)random.NextDouble() - 0.5f;
        }

        return v;
    }
}
