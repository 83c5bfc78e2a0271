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
/// <para>
/// Thresholding at the median, not at zero, is what makes the bits informative for ReLU features (never negative,
/// often zero): each bit splits the stored vectors about in half. Not thread-safe: the store guards it with its lock.
/// </para>
/// <para>
/// Bit layout (the same in memory and in the index file's <c>binary_codes</c> table, layout
/// <see cref="Layout"/>): bit <c>j</c> (word <c>j / 64</c>, bit <c>j % 64</c>, words little-endian) holds dimension
/// <c>order[j]</c>, where <c>order</c> is a fixed pseudo-random permutation of the dimensions
/// (<see cref="Permutation"/>), so that any prefix of a code is an evenly spread sample of the dimensions. The
/// Hamming distance of two codes does not depend on the order. Padding bits (past the dimension) are zero.
/// </para>
/// </remarks>
internal sealed class BinaryCodes
{
    /// <summary>At most this many rows (spread evenly over the store) are read to compute the medians.</summary>
    public const int MaxMedianSample = 32_768;

    /// <summary>The name of the bit layout recorded in the index file (store property <c>binary_code_layout</c>).</summary>
    public const string Layout = "permuted-splitmix64-v1";

    /// <summary>
    /// Code words (64 bits each) in the prefix that the first pass of a large scan reads: 512 bits, one 64-byte cache
    /// line per row. At 10^6 rows, keeping max(16 x candidates, 4,096) rows by a 512-bit prefix lost no recall@10
    /// against the whole-code scan (numpy, real ResNet18 features and noisy replicas), and the pass took 13.7 ms on one
    /// thread against 19.9 ms for 1,024 bits and 38.6 ms for the whole codes (random codes, AMD EPYC, shared machine).
    /// </summary>
    public const int DefaultPrefixWords = 8;

    private readonly float[] _medians;
    private readonly int[] _order;
    private readonly float[] _orderedMedians;

    // Each row's code in two contiguous arrays: the prefix (HeadWords) of every row, then the rest (TailWords), so a
    // pass over the prefixes streams only those bytes from memory.
    private ulong[] _head = [];
    private ulong[] _tail = [];

    public BinaryCodes(float[] medians, int prefixWords = DefaultPrefixWords)
    {
        _medians = medians;
        Words = (medians.Length + 63) / 64;
        HeadWords = Math.Min(Words, prefixWords);
        TailWords = Words - HeadWords;
        _order = Permutation(medians.Length);
        _orderedMedians = new float[medians.Length];
        for (var j = 0; j < _order.Length; j++)
        {
            _orderedMedians[j] = medians[_order[j]];
        }
    }

    /// <summary>Gets the ulongs per row.</summary>
    public int Words { get; }

    /// <summary>Gets the ulongs of a row's prefix (a spread sample of the dimensions, thanks to the permutation).</summary>
    public int HeadWords { get; }

    /// <summary>Gets the ulongs after the prefix.</summary>
    public int TailWords { get; }

    /// <summary>Gets the bytes of one row's code in the index file (<see cref="Words"/> little-endian ulongs).</summary>
    public int CodeBytes => Words * sizeof(ulong);

    public ReadOnlySpan<float> Medians => _medians;

    /// <summary>Gets the bytes of memory held by the codes.</summary>
    public long AllocatedBytes => ((long)_head.Length + _tail.Length) * sizeof(ulong);

    /// <summary>Makes room for slots 0 to <paramref name="slots"/> - 1 (doubling, so appends stay cheap).</summary>
    public void EnsureCapacity(long slots)
    {
        var have = HeadWords == 0 ? 0 : _head.LongLength / HeadWords;
        if (have >= slots)
        {
            return;
        }

        var rows = Math.Max(slots, Math.Min(Array.MaxLength / Words, Math.Max(16L, have * 2)));
        Array.Resize(ref _head, checked((int)(rows * HeadWords)));
        Array.Resize(ref _tail, checked((int)(rows * TailWords)));
    }

    /// <summary>Sets the code of a slot from its (unit) vector.</summary>
    public void Write(int slot, ReadOnlySpan<float> vector)
    {
        Span<ulong> code = stackalloc ulong[Words];
        Encode(vector, code);
        WriteWords(slot, code);
    }

    /// <summary>Sets the code of a slot.</summary>
    public void WriteWords(int slot, ReadOnlySpan<ulong> code)
    {
        code[..HeadWords].CopyTo(_head.AsSpan(slot * HeadWords, HeadWords));
        code[HeadWords..].CopyTo(_tail.AsSpan(slot * TailWords, TailWords));
    }

    /// <summary>Sets the code of a slot from its bytes in the index file (<see cref="CodeBytes"/> long).</summary>
    public void WriteBytes(int slot, ReadOnlySpan<byte> bytes)
    {
        Span<ulong> code = stackalloc ulong[Words];
        for (var w = 0; w < code.Length; w++)
        {
            code[w] = BinaryPrimitives.ReadUInt64LittleEndian(bytes[(w * sizeof(ulong))..]);
        }

        WriteWords(slot, code);
    }

    /// <summary>Writes the code of a slot as its bytes in the index file.</summary>
    public void ReadBytes(int slot, Span<byte> bytes)
    {
        Span<ulong> code = stackalloc ulong[Words];
        ReadWords(slot, code);
        ToBytes(code, bytes);
    }

    /// <summary>Copies the code of a slot.</summary>
    public void ReadWords(int slot, Span<ulong> code)
    {
        Head(slot).CopyTo(code);
        Tail(slot).CopyTo(code[HeadWords..]);
    }

    /// <summary>Gets a copy of the code of a slot.</summary>
    public ulong[] Row(int slot)
    {
        var code = new ulong[Words];
        ReadWords(slot, code);
        return code;
    }

    /// <summary>Writes a code as its bytes in the index file (<see cref="Words"/> little-endian ulongs).</summary>
    public static void ToBytes(ReadOnlySpan<ulong> code, Span<byte> bytes)
    {
        for (var w = 0; w < code.Length; w++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes[(w * sizeof(ulong))..], code[w]);
        }
    }

    /// <summary>Gets the prefix of a slot's code.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<ulong> Head(int slot) => _head.AsSpan(slot * HeadWords, HeadWords);

    /// <summary>Gets the part of a slot's code after the prefix.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<ulong> Tail(int slot) => _tail.AsSpan(slot * TailWords, TailWords);

    /// <summary>The Hamming distance of a slot's whole code to <paramref name="code"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Distance(int slot, ReadOnlySpan<ulong> code) => Hamming(Head(slot), code[..HeadWords]) + Hamming(Tail(slot), code[HeadWords..]);

    /// <summary>The Hamming distance of a slot's prefix to the prefix of <paramref name="code"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int HeadDistance(int slot, ReadOnlySpan<ulong> code) => Hamming(Head(slot), code[..HeadWords]);

    /// <summary>Encodes a (unit) vector in this store's layout: bit <c>j</c> is set when <c>vector[order[j]] &gt; medians[order[j]]</c>.</summary>
    public void Encode(ReadOnlySpan<float> vector, Span<ulong> code)
    {
        code.Clear();
        var order = _order;
        var medians = _orderedMedians;
        for (var j = 0; j < order.Length; j++)
        {
            if (vector[order[j]] > medians[j])
            {
                code[j >> 6] |= 1UL << (j & 63);
            }
        }
    }

    /// <summary>
    /// The fixed order of the dimensions in a code: a Fisher-Yates shuffle of 0..<paramref name="dimension"/>-1 driven
    /// by SplitMix64 from the seed 0x49535653 ('ISVS'); swap partner of position <c>i</c> (from the last down to 1) is
    /// <c>next() % (i + 1)</c>. Part of the file format: never change it without a new <see cref="Layout"/>.
    /// </summary>
    public static int[] Permutation(int dimension)
    {
        var order = new int[dimension];
        for (var i = 0; i < dimension; i++)
        {
            order[i] = i;
        }

        var state = 0x49535653UL;
        for (var i = dimension - 1; i > 0; i--)
        {
            state += 0x9E3779B97F4A7C15UL;
            var z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            var k = (int)(z % (ulong)(i + 1));
            (order[i], order[k]) = (order[k], order[i]);
        }

        return order;
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
