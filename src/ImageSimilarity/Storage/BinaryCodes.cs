using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace ImageSimilarity.Storage;

/// <summary>
/// One bit per dimension for every row of the store (bit set when the value is above that dimension's median), kept
/// in memory as <c>ceil(dimension / 64)</c> ulongs per row (512 bytes at 4096 dimensions), and the Hamming scan
/// that picks a two-stage search's candidates.
/// </summary>
/// <remarks>
/// Thresholding at the median, not at zero, is what makes the bits informative for ReLU features (never negative,
/// often zero): each bit splits the stored vectors about in half. Not thread-safe: the store guards it with its lock.
/// </remarks>
internal sealed class BinaryCodes
{
    /// <summary>At most this many rows (spread evenly over the store) are read to compute the medians.</summary>
    public const int MaxMedianSample = 32_768;

    private readonly float[] _medians;
    private ulong[] _codes = [];

    public BinaryCodes(float[] medians)
    {
        _medians = medians;
        Words = (medians.Length + 63) / 64;
    }

    /// <summary>Gets the ulongs per row.</summary>
    public int Words { get; }

    public ReadOnlySpan<float> Medians => _medians;

    /// <summary>Gets the bytes of memory held by the codes.</summary>
    public long AllocatedBytes => (long)_codes.Length * sizeof(ulong);

    /// <summary>Makes room for slots 0 to <paramref name="slots"/> - 1 (doubling, so appends stay cheap).</summary>
    public void EnsureCapacity(long slots)
    {
        var need = slots * Words;
        if (_codes.LongLength >= need)
        {
            return;
        }

        var size = Math.Max(need, Math.Min(Array.MaxLength, Math.Max(16L * Words, _codes.LongLength * 2)));
        Array.Resize(ref _codes, checked((int)size));
    }

    /// <summary>Sets the code of a slot from its (unit) vector.</summary>
    public void Write(int slot, ReadOnlySpan<float> vector) => Encode(vector, _medians, _codes.AsSpan(slot * Words, Words));

    /// <summary>Gets the code of a slot.</summary>
    public ReadOnlySpan<ulong> Row(int slot) => _codes.AsSpan(slot * Words, Words);

    /// <summary>Bit <c>d</c> (word <c>d / 64</c>, bit <c>d % 64</c>) is set when <c>vector[d] &gt; medians[d]</c>; padding bits are zero.</summary>
    public static void Encode(ReadOnlySpan<float> vector, ReadOnlySpan<float> medians, Span<ulong> code)
    {
        code.Clear();
        for (var d = 0; d < vector.Length; d++)
        {
            if (vector[d] > medians[d])
            {
                code[d >> 6] |= 1UL << (d & 63);
            }
        }
    }

    /// <summary>The number of differing bits of two codes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Hamming(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b)
    {
        // Four independent sums so the popcounts do not wait on one another (.NET 10 has no vector popcount).
        int s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        var i = 0;
        for (; i + 3 < a.Length; i += 4)
        {
            s0 += BitOperations.PopCount(a[i] ^ b[i]);
            s1 += BitOperations.PopCount(a[i + 1] ^ b[i + 1]);
            s2 += BitOperations.PopCount(a[i + 2] ^ b[i + 2]);
            s3 += BitOperations.PopCount(a[i + 3] ^ b[i + 3]);
        }

        for (; i < a.Length; i++)
        {
            s0 += BitOperations.PopCount(a[i] ^ b[i]);
        }

        return s0 + s1 + s2 + s3;
    }

    /// <summary>
    /// Computes each dimension's median (the lower one for an even count: element <c>(n - 1) / 2</c> in sorted
    /// order) over the rows <paramref name="read"/> fills, reading <paramref name="dimension"/>-long rows.
    /// </summary>
    /// <param name="rows">How many rows.</param>
    /// <param name="dimension">The vector length.</param>
    /// <param name="read">Fills a row buffer with row <c>i</c>.</param>
    /// <param name="cancellationToken">Cancels the computation.</param>
    public static float[] ComputeMedians(int rows, int dimension, Action<int, float[]> read, CancellationToken cancellationToken)
    {
        var medians = new float[dimension];
        if (rows == 0)
        {
            return medians;
        }

        // Dimensions in groups, so the transposed columns stay small (group x rows floats) while each row is read
        // once per group.
        var group = Math.Max(1, Math.Min(dimension, (64 << 20) / (rows * sizeof(float))));
        var columns = new float[group * rows];
        var row = new float[dimension];
        for (var first = 0; first < dimension; first += group)
        {
            var width = Math.Min(group, dimension - first);
            for (var r = 0; r < rows; r++)
            {
                if ((r & 1023) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                read(r, row);
                for (var c = 0; c < width; c++)
                {
                    columns[(c * rows) + r] = row[first + c];
                }
            }

            for (var c = 0; c < width; c++)
            {
                medians[first + c] = Select(columns.AsSpan(c * rows, rows), (rows - 1) / 2);
            }
        }

        return medians;
    }

    /// <summary>Writes the medians as text for the index's properties table: base64 of little-endian float32.</summary>
    public static string FormatMedians(ReadOnlySpan<float> medians)
    {
        var bytes = new byte[medians.Length * sizeof(float)];
        for (var i = 0; i < medians.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), medians[i]);
        }

        return Convert.ToBase64String(bytes);
    }

    /// <summary>Reads <see cref="FormatMedians"/>'s text; <see langword="null"/> when it is malformed or of another length.</summary>
    public static float[]? ParseMedians(string text, int dimension)
    {
        var bytes = new byte[dimension * sizeof(float)];
        if (!Convert.TryFromBase64String(text, bytes, out var written) || written != bytes.Length)
        {
            return null;
        }

        var medians = new float[dimension];
        for (var i = 0; i < dimension; i++)
        {
            medians[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * sizeof(float)));
            if (!float.IsFinite(medians[i]))
            {
                return null;
            }
        }

        return medians;
    }

    /// <summary>The <paramref name="k"/>-th smallest value (0-based) of <paramref name="values"/>, which it reorders (quickselect).</summary>
    internal static float Select(Span<float> values, int k)
    {
        int lo = 0, hi = values.Length - 1;
        while (lo < hi)
        {
            var pivot = MedianOfThree(values[lo], values[lo + ((hi - lo) / 2)], values[hi]);
            int i = lo, j = hi;
            while (i <= j)
            {
                while (values[i] < pivot)
                {
                    i++;
                }

                while (values[j] > pivot)
                {
                    j--;
                }

                if (i <= j)
                {
                    (values[i], values[j]) = (values[j], values[i]);
                    i++;
                    j--;
                }
            }

            // Now values[lo..j] <= pivot <= values[i..hi], and values between j and i equal the pivot.
            if (k <= j)
            {
                hi = j;
            }
            else if (k >= i)
            {
                lo = i;
            }
            else
            {
                return values[k];
            }
        }

        return values[k];
    }

    private static float MedianOfThree(float a, float b, float c) => Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));
}
