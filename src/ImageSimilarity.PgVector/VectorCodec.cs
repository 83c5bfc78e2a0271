using System.Buffers.Binary;
using System.Collections;
using System.Globalization;
using System.Numerics.Tensors;
using System.Text;
using System.Text.Json;

namespace ImageSimilarity.PgVector;

/// <summary>Validation, normalisation, binary codes and metadata JSON for the PostgreSQL store.</summary>
internal static class VectorCodec
{
    /// <summary>Checks a vector like the embedded store does and returns its unit-length copy.</summary>
    /// <exception cref="ArgumentException">The vector is invalid; the message names <paramref name="what"/>.</exception>
    public static float[] Normalize(ReadOnlySpan<float> vector, int dimension, string what, string paramName)
    {
        if (vector.Length != dimension)
        {
            throw new ArgumentException($"{what} has {vector.Length} values but the store holds vectors of {dimension}: it comes from a different model or layer.", paramName);
        }

        if (!TensorPrimitives.IsFiniteAll(vector))
        {
            throw new ArgumentException($"{what} contains NaN or infinite values; it cannot be compared.", paramName);
        }

        var unit = new float[dimension];
        var largest = Math.Abs(TensorPrimitives.MaxMagnitude(vector));
        if (largest == 0f)
        {
            throw new ArgumentException($"{what} is all zeros; it has no direction, so its cosine similarity is undefined.", paramName);
        }

        // Scaling by the largest magnitude first keeps the sum of squares inside the float range for huge or tiny values.
        TensorPrimitives.Divide(vector, largest, unit);
        TensorPrimitives.Divide(unit, TensorPrimitives.Norm(unit), unit);
        return unit;
    }

    /// <summary>One bit per dimension: value &gt; threshold (0 when there are no thresholds, as pgvector's binary_quantize).</summary>
    public static BitArray Code(ReadOnlySpan<float> unit, float[]? thresholds)
    {
        var bits = new BitArray(unit.Length);
        for (var i = 0; i < unit.Length; i++)
        {
            bits[i] = unit[i] > (thresholds is null ? 0f : thresholds[i]);
        }

        return bits;
    }

    /// <summary>
    /// pgvector's binary wire format of <c>vector</c> (int16 dimension, int16 unused, big-endian float32 values) or
    /// <c>halfvec</c> (the same with float16 values): what its receive function reads in a binary COPY.
    /// </summary>
    public static byte[] Encode(ReadOnlySpan<float> unit, bool half)
    {
        var bytes = new byte[4 + (unit.Length * (half ? 2 : 4))];
        BinaryPrimitives.WriteInt16BigEndian(bytes, (short)unit.Length);
        var span = bytes.AsSpan(4);
        for (var i = 0; i < unit.Length; i++)
        {
            if (half)
            {
                BinaryPrimitives.WriteHalfBigEndian(span[(i * 2)..], (Half)unit[i]);
            }
            else
            {
                BinaryPrimitives.WriteSingleBigEndian(span[(i * 4)..], unit[i]);
            }
        }

        return bytes;
    }

    /// <summary>Reads what <c>vector_send</c> or <c>halfvec_send</c> returns.</summary>
    public static float[] Decode(ReadOnlySpan<byte> bytes, bool half)
    {
        var dimension = BinaryPrimitives.ReadInt16BigEndian(bytes);
        var values = new float[dimension];
        var span = bytes[4..];
        for (var i = 0; i < dimension; i++)
        {
            values[i] = half ? (float)BinaryPrimitives.ReadHalfBigEndian(span[(i * 2)..]) : BinaryPrimitives.ReadSingleBigEndian(span[(i * 4)..]);
        }

        return values;
    }

    public static string ToJson(IReadOnlyDictionary<string, string> metadata)
    {
        if (metadata.Count == 0)
        {
            return "{}";
        }

        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            foreach (var (key, value) in metadata)
            {
                writer.WriteString(key, value);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public static IReadOnlyDictionary<string, string> FromJson(string json)
    {
        using var document = JsonDocument.Parse(json);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in document.RootElement.EnumerateObject())
        {
            result[property.Name] = property.Value.ValueKind == JsonValueKind.String
                ? property.Value.GetString()!
                : property.Value.GetRawText();
        }

        return result;
    }

    /// <summary>The per-dimension median of sample rows (each a unit vector), by sorting each column; columns in parallel.</summary>
    public static float[] Medians(IReadOnlyList<float[]> rows, int dimension)
    {
        var medians = new float[dimension];
        if (rows.Count == 0)
        {
            return medians;
        }

        Parallel.For(
            0,
            dimension,
            () => new float[rows.Count],
            (d, _, column) =>
            {
                for (var r = 0; r < rows.Count; r++)
                {
                    column[r] = rows[r][d];
                }

                Array.Sort(column);
                medians[d] = column[(column.Length - 1) / 2];
                return column;
            },
            _ => { });
        return medians;
    }

    public static string Describe(float[] thresholds)
        => string.Create(CultureInfo.InvariantCulture, $"{thresholds.Count(t => t > 0)} of {thresholds.Length} dimensions have a positive median");
}
