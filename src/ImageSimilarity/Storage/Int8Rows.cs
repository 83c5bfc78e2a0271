using System.Runtime.InteropServices;

namespace ImageSimilarity.Storage;

/// <summary>
/// The <see cref="VectorPrecision.Int8"/> row format, in memory and in the index file: the vector's values as signed
/// bytes, then one little-endian float scale per block of <see cref="BlockSize"/> values (symmetric: the largest
/// magnitude of the block maps to 127), so value <c>i</c> is <c>code[i] * scale[i / 128]</c>. The file's per-row
/// checksum covers the scales with the codes. 4096 values take 4,096 + 32 x 4 = 4,224 bytes (0.258x of fp32).
/// </summary>
/// <remarks>
/// Block scales instead of one scale per vector: CNN features mix small averages with large maxima, and one scale per
/// vector left the small values few levels (recall@10 0.986 against 0.994 for blocks of 128 on 20,040 real ResNet18
/// vectors; docs/storage.md). A query is quantised to 16-bit integers (<see cref="QueryLevels"/>); one block's integer
/// dot product is at most 128 x 127 x 32767 = 5.3e8, within a 32-bit sum, whatever the dimension.
/// </remarks>
internal static class Int8Rows
{
    /// <summary>Values per scale.</summary>
    public const int BlockSize = 128;

    /// <summary>The largest code of a stored value.</summary>
    public const int Levels = 127;

    /// <summary>The largest code of a query value.</summary>
    public const int QueryLevels = short.MaxValue;

    /// <summary>Gets the number of blocks (scales) of a row.</summary>
    public static int Blocks(int dimension) => (dimension + BlockSize - 1) / BlockSize;

    /// <summary>Bytes of one row: one per value plus 4 per block.</summary>
    public static int RowBytes(int dimension) => dimension + (sizeof(float) * Blocks(dimension));

    /// <summary>Writes the codes and scales of a vector into <paramref name="row"/> (<see cref="RowBytes"/> long).</summary>
    public static void Quantize(ReadOnlySpan<float> vector, Span<byte> row)
    {
        var codes = MemoryMarshal.Cast<byte, sbyte>(row[..vector.Length]);
        var scales = MemoryMarshal.Cast<byte, float>(row.Slice(vector.Length, sizeof(float) * Blocks(vector.Length)));
        for (var b = 0; b < scales.Length; b++)
        {
            var start = b * BlockSize;
            var block = vector.Slice(start, Math.Min(BlockSize, vector.Length - start));
            var max = 0f;
            foreach (var v in block)
            {
                max = Math.Max(max, Math.Abs(v));
            }

            scales[b] = max / Levels;
            var inverse = max == 0 ? 0f : Levels / max;
            for (var i = 0; i < block.Length; i++)
            {
                codes[start + i] = (sbyte)Math.Clamp((int)MathF.Round(block[i] * inverse), -Levels, Levels);
            }
        }
    }

    /// <summary>Gets the codes of a row.</summary>
    public static ReadOnlySpan<sbyte> Codes(ReadOnlySpan<byte> row, int dimension) => MemoryMarshal.Cast<byte, sbyte>(row[..dimension]);

    /// <summary>Gets the block scales of a row.</summary>
    public static ReadOnlySpan<float> Scales(ReadOnlySpan<byte> row, int dimension) => MemoryMarshal.Cast<byte, float>(row.Slice(dimension, sizeof(float) * Blocks(dimension)));

    /// <summary>Writes the values a row stands for.</summary>
    public static void Dequantize(ReadOnlySpan<byte> row, Span<float> destination)
    {
        var dimension = destination.Length;
        var scales = Scales(row, dimension);
        var codes = Codes(row, dimension);
        for (var i = 0; i < dimension; i++)
        {
            destination[i] = codes[i] * scales[i / BlockSize];
        }
    }

    /// <summary>Quantises a query to 16-bit integers; returns the factor that turns a scored row back into a float dot product.</summary>
    public static float PrepareQuery(ReadOnlySpan<float> query, Span<short> destination)
    {
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

        var inverse = QueryLevels / max;
        for (var i = 0; i < query.Length; i++)
        {
            destination[i] = (short)Math.Clamp((int)MathF.Round(query[i] * inverse), -QueryLevels, QueryLevels);
        }

        return max / QueryLevels;
    }
}
