using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace ImageSimilarity.Storage;

/// <summary>
/// The <see cref="VectorPrecision.Int8"/> row format, in memory and in the index file: the vector's values as signed
/// bytes (symmetric, per-vector scale: the largest magnitude maps to 127), then the scale as a little-endian float, so a
/// value is <c>code * scale</c>. The file's per-row checksum covers the scale with the codes.
/// </summary>
/// <remarks>
/// A query is quantised to 16-bit integers with at most <see cref="QueryLevels"/> levels per sign, so a dot product
/// of 4096 values (at most 4096 x 127 x 2047 = 1.06e9) fits a 32-bit integer sum for dimensions up to 8,256; longer
/// vectors use fewer query levels (<see cref="QueryLevelsFor"/>).
/// </remarks>
internal static class Int8Rows
{
    /// <summary>The largest code of a stored value.</summary>
    public const int Levels = 127;

    /// <summary>The largest code of a query value for dimensions up to 8,256.</summary>
    public const int QueryLevels = 2047;

    /// <summary>Bytes of one row: one per value plus the 4-byte scale.</summary>
    public static int RowBytes(int dimension) => dimension + sizeof(float);

    /// <summary>Query levels that keep any dot product of <paramref name="dimension"/> values within a 32-bit sum.</summary>
    public static int QueryLevelsFor(int dimension) => (int)Math.Min(QueryLevels, int.MaxValue / ((long)dimension * Levels));

    /// <summary>Writes the codes and the scale of a vector into <paramref name="row"/> (<see cref="RowBytes"/> long).</summary>
    public static void Quantize(ReadOnlySpan<float> vector, Span<byte> row)
    {
        var codes = MemoryMarshal.Cast<byte, sbyte>(row[..vector.Length]);
        var max = 0f;
        foreach (var v in vector)
        {
            max = Math.Max(max, Math.Abs(v));
        }

        var scale = max / Levels;
        var inverse = max == 0 ? 0f : Levels / max;
        for (var i = 0; i < vector.Length; i++)
        {
            codes[i] = (sbyte)Math.Clamp((int)MathF.Round(vector[i] * inverse), -Levels, Levels);
        }

        BinaryPrimitives.WriteSingleLittleEndian(row[vector.Length..], scale);
    }

    /// <summary>Gets the scale of a row.</summary>
    public static float Scale(ReadOnlySpan<byte> row, int dimension) => BinaryPrimitives.ReadSingleLittleEndian(row[dimension..]);

    /// <summary>Gets the codes of a row.</summary>
    public static ReadOnlySpan<sbyte> Codes(ReadOnlySpan<byte> row, int dimension) => MemoryMarshal.Cast<byte, sbyte>(row[..dimension]);

    /// <summary>Writes the values a row stands for.</summary>
    public static void Dequantize(ReadOnlySpan<byte> row, Span<float> destination)
    {
        var dimension = destination.Length;
        var scale = Scale(row, dimension);
        var codes = Codes(row, dimension);
        for (var i = 0; i < dimension; i++)
        {
            destination[i] = codes[i] * scale;
        }
    }

    /// <summary>Quantises a query to 16-bit integers; returns the factor that turns an integer dot product back into a float one (without the row's scale).</summary>
    public static float PrepareQuery(ReadOnlySpan<float> query, Span<short> destination)
    {
        var levels = QueryLevelsFor(query.Length);
        var max = 0f;
        foreach (var v in query)
        {
            max = Math.Max(max, Math.Abs(v));
        }

        if (max == 0)
        {
            destination.Clear();
            return 0;
        }

        var inverse = levels / max;
        for (var i = 0; i < query.Length; i++)
        {
            destination[i] = (short)Math.Clamp((int)MathF.Round(query[i] * inverse), -levels, levels);
        }

        return max / levels;
    }
}
