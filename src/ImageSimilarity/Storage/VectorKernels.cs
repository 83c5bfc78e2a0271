using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ImageSimilarity.Storage;

/// <summary>
/// The scoring kernels of the embedded store: dot products of stored rows (float or half) with a float query.
/// </summary>
/// <remarks>
/// <para>
/// These are hand-written with <see cref="Vector512"/>/<see cref="Vector256"/> instead of calling
/// <see cref="TensorPrimitives"/> only where measurement showed a gap (the figures are in docs/benchmarks.md and
/// docs/storage.md). Half rows are widened with bit operations on 512-, 256- or 128-bit vectors (the last for Arm64
/// and x64 without AVX2); float rows use 512-bit vectors with four accumulators. Anything without a full vector
/// (other CPUs, tails of odd dimensions) falls back to <see cref="TensorPrimitives"/> or exact scalar code. CI runs
/// the kernel tests a second and third time with <c>DOTNET_EnableAVX512=0</c> and <c>DOTNET_EnableAVX2=0</c>.
/// </para>
/// <para>
/// Half to float without F16C instructions (.NET has no intrinsic for them): the 15 magnitude bits of a half,
/// shifted left by 13, are the bits of a float equal to the half's value times 2^-112, exactly (normal halves become
/// normal floats, subnormal halves subnormal floats). A row is read as 32-bit lanes of two halves: an arithmetic shift
/// right by 3 puts the high half's sign in bit 31 and its magnitude in bits 27-13, and a mask clears the rest; the low
/// half is first moved up by 16 bits (a byte shuffle within 128-bit lanes on x64). No cross-lane widening, and about 5
/// operations per 32 halves besides the two multiply-adds (the earlier sign-extend-then-shift widening needed 7 and a
/// shuffle port). The query is stored even elements first in each group (<see cref="PrepareHalfQuery"/>) so the lanes
/// line up. Instead of multiplying
/// every element by 2^112, the query is multiplied once (<see cref="HalfQueryScale"/>). Stored vectors are finite,
/// so infinities and NaNs never occur.
/// </para>
/// </remarks>
internal static class VectorKernels
{
    /// <summary>The factor a query is multiplied by before <see cref="DotHalf"/>: 2^112.</summary>
    public static readonly float HalfQueryScale = MathF.ScaleB(1f, 112);

    // After sign-extending a half to 32 bits and shifting left by 13, bit 31 holds the sign and bits 27-13 the
    // exponent and mantissa; bits 30-28 (more sign copies) must be cleared.
    private const int HalfBitsMask = unchecked((int)0x8FFF_E000);

    /// <summary>Dot product of two float vectors of the same length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        if (!Vector512.IsHardwareAccelerated || x.Length < 64)
        {
            return TensorPrimitives.Dot(x, y);
        }

        ref var px = ref MemoryMarshal.GetReference(x);
        ref var py = ref MemoryMarshal.GetReference(y);
        var a0 = Vector512<float>.Zero;
        var a1 = Vector512<float>.Zero;
        var a2 = Vector512<float>.Zero;
        var a3 = Vector512<float>.Zero;
        var n = x.Length - 64;
        var i = 0;
        for (; i <= n; i += 64)
        {
            a0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref px, (nuint)i), Vector512.LoadUnsafe(ref py, (nuint)i), a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref px, (nuint)(i + 16)), Vector512.LoadUnsafe(ref py, (nuint)(i + 16)), a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref px, (nuint)(i + 32)), Vector512.LoadUnsafe(ref py, (nuint)(i + 32)), a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref px, (nuint)(i + 48)), Vector512.LoadUnsafe(ref py, (nuint)(i + 48)), a3);
        }

        var sum = Vector512.Sum((a0 + a1) + (a2 + a3));
        return i == x.Length ? sum : sum + TensorPrimitives.Dot(x[i..], y[i..]);
    }

    /// <summary>
    /// Dot products of two float rows with one query: each query vector loaded serves both rows, which cuts the
    /// loads per multiply-add from two to one and a half.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Dot2(ReadOnlySpan<float> x0, ReadOnlySpan<float> x1, ReadOnlySpan<float> y, out float dot0, out float dot1)
    {
        if (!Vector512.IsHardwareAccelerated || y.Length < 32)
        {
            dot0 = TensorPrimitives.Dot(x0, y);
            dot1 = TensorPrimitives.Dot(x1, y);
            return;
        }

        ref var p0 = ref MemoryMarshal.GetReference(x0);
        ref var p1 = ref MemoryMarshal.GetReference(x1);
        ref var py = ref MemoryMarshal.GetReference(y);
        var a0 = Vector512<float>.Zero;
        var a1 = Vector512<float>.Zero;
        var b0 = Vector512<float>.Zero;
        var b1 = Vector512<float>.Zero;
        var i = 0;
        for (var n = y.Length - 32; i <= n; i += 32)
        {
            var q0 = Vector512.LoadUnsafe(ref py, (nuint)i);
            var q1 = Vector512.LoadUnsafe(ref py, (nuint)(i + 16));
            a0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref p0, (nuint)i), q0, a0);
            b0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref p1, (nuint)i), q0, b0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref p0, (nuint)(i + 16)), q1, a1);
            b1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref p1, (nuint)(i + 16)), q1, b1);
        }

        dot0 = Vector512.Sum(a0 + a1);
        dot1 = Vector512.Sum(b0 + b1);
        if (i < y.Length)
        {
            dot0 += TensorPrimitives.Dot(x0[i..], y[i..]);
            dot1 += TensorPrimitives.Dot(x1[i..], y[i..]);
        }
    }

    /// <summary>
    /// Gets how many halves <see cref="DotHalf"/> widens per vector load: 32 with 512-bit vectors, 16 with 256, 8
    /// with 128, 1 (plain order) without vectors. <see cref="PrepareHalfQuery"/> arranges the query in groups of this size.
    /// </summary>
    public static int HalfGroup { get; } = Vector512.IsHardwareAccelerated ? 32 : Vector256.IsHardwareAccelerated ? 16 : Vector128.IsHardwareAccelerated ? 8 : 1;

    /// <summary>
    /// Writes a query for <see cref="DotHalf"/>: multiplied by <see cref="HalfQueryScale"/>, and within each group of
    /// <see cref="HalfGroup"/> values the even-indexed ones first, then the odd-indexed ones (the order in which the
    /// kernel widens a row); a tail shorter than a group stays in order.
    /// </summary>
    public static void PrepareHalfQuery(ReadOnlySpan<float> query, Span<float> prepared)
    {
        var group = HalfGroup;
        var full = group == 1 ? 0 : query.Length / group * group;
        var pairs = group / 2;
        for (var g = 0; g < full; g += group)
        {
            for (var j = 0; j < pairs; j++)
            {
                prepared[g + j] = query[g + (2 * j)] * HalfQueryScale;
                prepared[g + pairs + j] = query[g + (2 * j) + 1] * HalfQueryScale;
            }
        }

        for (var i = full; i < query.Length; i++)
        {
            prepared[i] = query[i] * HalfQueryScale;
        }
    }

    /// <summary>
    /// Dot product of a half vector with a query written by <see cref="PrepareHalfQuery"/>. Each vector load is read as
    /// 32-bit lanes holding two halves: the high half is widened by one arithmetic shift and a mask, the low half by one
    /// more shift, so there is no cross-lane widening (the shifts and a byte shuffle within 128-bit lanes spread over more execution ports than a widening shuffle);
    /// the query's even/odd order matches the lanes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float DotHalf(ReadOnlySpan<Half> x, ReadOnlySpan<float> preparedQuery)
    {
        ref var py = ref MemoryMarshal.GetReference(preparedQuery);
        var i = 0;
        var sum = 0f;
        var group = HalfGroup;
        if (group == 32 && x.Length >= 32)
        {
            ref var pw = ref Unsafe.As<Half, int>(ref MemoryMarshal.GetReference(x));
            var a0 = Vector512<float>.Zero;
            var a1 = Vector512<float>.Zero;
            var a2 = Vector512<float>.Zero;
            var a3 = Vector512<float>.Zero;
            var mask = Vector512.Create(HalfBitsMask);
            for (var n = x.Length - 64; i <= n; i += 64)
            {
                var w0 = Vector512.LoadUnsafe(ref pw, (nuint)(i >> 1));
                var w1 = Vector512.LoadUnsafe(ref pw, (nuint)((i >> 1) + 16));
                a0 = Vector512.FusedMultiplyAdd((Vector512.ShiftRightArithmetic(LowToHigh(w0), 3) & mask).AsSingle(), Vector512.LoadUnsafe(ref py, (nuint)i), a0);
                a1 = Vector512.FusedMultiplyAdd((Vector512.ShiftRightArithmetic(w0, 3) & mask).AsSingle(), Vector512.LoadUnsafe(ref py, (nuint)(i + 16)), a1);
                a2 = Vector512.FusedMultiplyAdd((Vector512.ShiftRightArithmetic(LowToHigh(w1), 3) & mask).AsSingle(), Vector512.LoadUnsafe(ref py, (nuint)(i + 32)), a2);
                a3 = Vector512.FusedMultiplyAdd((Vector512.ShiftRightArithmetic(w1, 3) & mask).AsSingle(), Vector512.LoadUnsafe(ref py, (nuint)(i + 48)), a3);
            }

            if (i + 32 <= x.Length)
            {
                var w0 = Vector512.LoadUnsafe(ref pw, (nuint)(i >> 1));
                a0 = Vector512.FusedMultiplyAdd((Vector512.ShiftRightArithmetic(LowToHigh(w0), 3) & mask).AsSingle(), Vector512.LoadUnsafe(ref py, (nuint)i), a0);
                a1 = Vector512.FusedMultiplyAdd((Vector512.ShiftRightArithmetic(w0, 3) & mask).AsSingle(), Vector512.LoadUnsafe(ref py, (nuint)(i + 16)), a1);
                i += 32;
            }

            sum = Vector512.Sum((a0 + a1) + (a2 + a3));
        }
        else if (group == 16 && x.Length >= 16)
        {
            ref var pw = ref Unsafe.As<Half, int>(ref MemoryMarshal.GetReference(x));
            var a0 = Vector256<float>.Zero;
            var a1 = Vector256<float>.Zero;
            var a2 = Vector256<float>.Zero;
            var a3 = Vector256<float>.Zero;
            var mask = Vector256.Create(HalfBitsMask);
            for (var n = x.Length - 32; i <= n; i += 32)
            {
                var w0 = Vector256.LoadUnsafe(ref pw, (nuint)(i >> 1));
                var w1 = Vector256.LoadUnsafe(ref pw, (nuint)((i >> 1) + 8));
                a0 = Vector256.FusedMultiplyAdd((Vector256.ShiftRightArithmetic(LowToHigh(w0), 3) & mask).AsSingle(), Vector256.LoadUnsafe(ref py, (nuint)i), a0);
                a1 = Vector256.FusedMultiplyAdd((Vector256.ShiftRightArithmetic(w0, 3) & mask).AsSingle(), Vector256.LoadUnsafe(ref py, (nuint)(i + 8)), a1);
                a2 = Vector256.FusedMultiplyAdd((Vector256.ShiftRightArithmetic(LowToHigh(w1), 3) & mask).AsSingle(), Vector256.LoadUnsafe(ref py, (nuint)(i + 16)), a2);
                a3 = Vector256.FusedMultiplyAdd((Vector256.ShiftRightArithmetic(w1, 3) & mask).AsSingle(), Vector256.LoadUnsafe(ref py, (nuint)(i + 24)), a3);
            }

            if (i + 16 <= x.Length)
            {
                var w0 = Vector256.LoadUnsafe(ref pw, (nuint)(i >> 1));
                a0 = Vector256.FusedMultiplyAdd((Vector256.ShiftRightArithmetic(LowToHigh(w0), 3) & mask).AsSingle(), Vector256.LoadUnsafe(ref py, (nuint)i), a0);
                a1 = Vector256.FusedMultiplyAdd((Vector256.ShiftRightArithmetic(w0, 3) & mask).AsSingle(), Vector256.LoadUnsafe(ref py, (nuint)(i + 8)), a1);
                i += 16;
            }

            sum = Vector256.Sum((a0 + a1) + (a2 + a3));
        }
        else if (group == 8 && x.Length >= 8)
        {
            ref var pw = ref Unsafe.As<Half, int>(ref MemoryMarshal.GetReference(x));
            var a0 = Vector128<float>.Zero;
            var a1 = Vector128<float>.Zero;
            var a2 = Vector128<float>.Zero;
            var a3 = Vector128<float>.Zero;
            var mask = Vector128.Create(HalfBitsMask);
            for (var n = x.Length - 16; i <= n; i += 16)
            {
                var w0 = Vector128.LoadUnsafe(ref pw, (nuint)(i >> 1));
                var w1 = Vector128.LoadUnsafe(ref pw, (nuint)((i >> 1) + 4));
                a0 = Vector128.MultiplyAddEstimate((Vector128.ShiftRightArithmetic(w0 << 16, 3) & mask).AsSingle(), Vector128.LoadUnsafe(ref py, (nuint)i), a0);
                a1 = Vector128.MultiplyAddEstimate((Vector128.ShiftRightArithmetic(w0, 3) & mask).AsSingle(), Vector128.LoadUnsafe(ref py, (nuint)(i + 4)), a1);
                a2 = Vector128.MultiplyAddEstimate((Vector128.ShiftRightArithmetic(w1 << 16, 3) & mask).AsSingle(), Vector128.LoadUnsafe(ref py, (nuint)(i + 8)), a2);
                a3 = Vector128.MultiplyAddEstimate((Vector128.ShiftRightArithmetic(w1, 3) & mask).AsSingle(), Vector128.LoadUnsafe(ref py, (nuint)(i + 12)), a3);
            }

            if (i + 8 <= x.Length)
            {
                var w0 = Vector128.LoadUnsafe(ref pw, (nuint)(i >> 1));
                a0 = Vector128.MultiplyAddEstimate((Vector128.ShiftRightArithmetic(w0 << 16, 3) & mask).AsSingle(), Vector128.LoadUnsafe(ref py, (nuint)i), a0);
                a1 = Vector128.MultiplyAddEstimate((Vector128.ShiftRightArithmetic(w0, 3) & mask).AsSingle(), Vector128.LoadUnsafe(ref py, (nuint)(i + 4)), a1);
                i += 8;
            }

            sum = Vector128.Sum((a0 + a1) + (a2 + a3));
        }

        ref var ph = ref Unsafe.As<Half, short>(ref MemoryMarshal.GetReference(x));
        for (; i < x.Length; i++)
        {
            sum += Bits(Unsafe.Add(ref ph, i)) * Unsafe.Add(ref py, i);
        }

        return sum;
    }

    /// <summary>
    /// <see cref="DotHalf"/> of two rows with one query: each query vector loaded serves both rows (two loads per
    /// 32 halves instead of three).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DotHalf2(ReadOnlySpan<Half> x0, ReadOnlySpan<Half> x1, ReadOnlySpan<float> preparedQuery, out float dot0, out float dot1)
    {
        var length = preparedQuery.Length;
        if (HalfGroup == 32)
        {
            ref var p0 = ref Unsafe.As<Half, int>(ref MemoryMarshal.GetReference(x0));
            ref var p1 = ref Unsafe.As<Half, int>(ref MemoryMarshal.GetReference(x1));
            ref var py = ref MemoryMarshal.GetReference(preparedQuery);
            var a0 = Vector512<float>.Zero;
            var a1 = Vector512<float>.Zero;
            var b0 = Vector512<float>.Zero;
            var b1 = Vector512<float>.Zero;
            var mask = Vector512.Create(HalfBitsMask);
            var i = 0;
            for (var n = length - 32; i <= n; i += 32)
            {
                var q0 = Vector512.LoadUnsafe(ref py, (nuint)i);
                var q1 = Vector512.LoadUnsafe(ref py, (nuint)(i + 16));
                var w = Vector512.LoadUnsafe(ref p0, (nuint)(i >> 1));
                var v = Vector512.LoadUnsafe(ref p1, (nuint)(i >> 1));
                a0 = Vector512.FusedMultiplyAdd((Vector512.ShiftRightArithmetic(LowToHigh(w), 3) & mask).AsSingle(), q0, a0);
                a1 = Vector512.FusedMultiplyAdd((Vector512.ShiftRightArithmetic(w, 3) & mask).AsSingle(), q1, a1);
                b0 = Vector512.FusedMultiplyAdd((Vector512.ShiftRightArithmetic(LowToHigh(v), 3) & mask).AsSingle(), q0, b0);
                b1 = Vector512.FusedMultiplyAdd((Vector512.ShiftRightArithmetic(v, 3) & mask).AsSingle(), q1, b1);
            }

            dot0 = Vector512.Sum(a0 + a1);
            dot1 = Vector512.Sum(b0 + b1);
            if (i < length)
            {
                dot0 += DotHalfTail(x0, preparedQuery, i);
                dot1 += DotHalfTail(x1, preparedQuery, i);
            }

            return;
        }

        if (HalfGroup == 16)
        {
            ref var p0 = ref Unsafe.As<Half, int>(ref MemoryMarshal.GetReference(x0));
            ref var p1 = ref Unsafe.As<Half, int>(ref MemoryMarshal.GetReference(x1));
            ref var py = ref MemoryMarshal.GetReference(preparedQuery);
            var a0 = Vector256<float>.Zero;
            var a1 = Vector256<float>.Zero;
            var b0 = Vector256<float>.Zero;
            var b1 = Vector256<float>.Zero;
            var mask = Vector256.Create(HalfBitsMask);
            var i = 0;
            for (var n = length - 16; i <= n; i += 16)
            {
                var q0 = Vector256.LoadUnsafe(ref py, (nuint)i);
                var q1 = Vector256.LoadUnsafe(ref py, (nuint)(i + 8));
                var w = Vector256.LoadUnsafe(ref p0, (nuint)(i >> 1));
                var v = Vector256.LoadUnsafe(ref p1, (nuint)(i >> 1));
                a0 = Vector256.FusedMultiplyAdd((Vector256.ShiftRightArithmetic(LowToHigh(w), 3) & mask).AsSingle(), q0, a0);
                a1 = Vector256.FusedMultiplyAdd((Vector256.ShiftRightArithmetic(w, 3) & mask).AsSingle(), q1, a1);
                b0 = Vector256.FusedMultiplyAdd((Vector256.ShiftRightArithmetic(LowToHigh(v), 3) & mask).AsSingle(), q0, b0);
                b1 = Vector256.FusedMultiplyAdd((Vector256.ShiftRightArithmetic(v, 3) & mask).AsSingle(), q1, b1);
            }

            dot0 = Vector256.Sum(a0 + a1);
            dot1 = Vector256.Sum(b0 + b1);
            if (i < length)
            {
                dot0 += DotHalfTail(x0, preparedQuery, i);
                dot1 += DotHalfTail(x1, preparedQuery, i);
            }

            return;
        }

        dot0 = DotHalf(x0, preparedQuery);
        dot1 = DotHalf(x1, preparedQuery);
    }

    // The elements after the last full group, in plain order.
    private static float DotHalfTail(ReadOnlySpan<Half> x, ReadOnlySpan<float> preparedQuery, int start)
    {
        ref var ph = ref Unsafe.As<Half, short>(ref MemoryMarshal.GetReference(x));
        var sum = 0f;
        for (var i = start; i < x.Length; i++)
        {
            sum += Bits(Unsafe.Add(ref ph, i)) * preparedQuery[i];
        }

        return sum;
    }

    // Moves the low half of each 32-bit lane to its high half. What lands in the low half (the high half of the lane
    // below, or zeros) is shifted out of the widened value's bits by the mask, so a byte shift of each 128-bit lane
    // (a shuffle, which runs beside the shifts) does the same job as a 32-bit shift left by 16.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> LowToHigh(Vector512<int> w)
        => Avx512BW.IsSupported ? Avx512BW.ShiftLeftLogical128BitLane(w.AsByte(), 2).AsInt32() : w << 16;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> LowToHigh(Vector256<int> w)
        => Avx2.IsSupported ? Avx2.ShiftLeftLogical128BitLane(w.AsByte(), 2).AsInt32() : w << 16;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Bits(short h) => BitConverter.Int32BitsToSingle((h << 13) & HalfBitsMask);
}
