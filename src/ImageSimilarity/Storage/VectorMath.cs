using System.Numerics.Tensors;

namespace ImageSimilarity.Storage;

/// <summary>Validation and normalisation shared by the stores.</summary>
internal static class VectorMath
{
    /// <summary>
    /// Checks that <paramref name="vector"/> has <paramref name="dimension"/> finite values, not all zero, and writes
    /// its unit-length version to <paramref name="unit"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The vector is invalid; the message names <paramref name="what"/>.</exception>
    public static void Normalize(ReadOnlySpan<float> vector, Span<float> unit, int dimension, string what, string paramName)
    {
        if (vector.Length != dimension)
        {
            throw new ArgumentException($"{what} has {vector.Length} values but the store holds vectors of {dimension}: it comes from a different model or layer.", paramName);
        }

        if (!TensorPrimitives.IsFiniteAll(vector))
        {
            throw new ArgumentException($"{what} contains NaN or infinite values; it cannot be compared.", paramName);
        }

        var norm = TensorPrimitives.Norm(vector);
        if (float.IsFinite(norm) && norm >= 1e-18f)
        {
            TensorPrimitives.Divide(vector, norm, unit);
            return;
        }

        var largest = Math.Abs(TensorPrimitives.MaxMagnitude(vector));
        if (largest == 0f)
        {
            throw new ArgumentException($"{what} is all zeros; it has no direction, so its cosine similarity is undefined.", paramName);
        }

        // The sum of squares left the float range (huge or tiny values): scale by the largest magnitude first.
        TensorPrimitives.Divide(vector, largest, unit);
        TensorPrimitives.Divide(unit, TensorPrimitives.Norm(unit), unit);
    }
}
