using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
/// normal floats, subnormal halves subnormal floats). Sign-extending the half to 32 bits before the shift puts its
/// sign in bit 31, so one shift and one mask do the whole widening. Instead of multiplying
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

    /// <summary>Dot product of a half vector with a float query already multiplied by <see cref="HalfQueryScale"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float DotHalf(ReadOnlySpan<Half> x, ReadOnlySpan<float> scaledQuery)
    {
        ref var px = ref Unsafe.As<Half, short>(ref MemoryMarshal.GetReference(x));
        ref var py = ref MemoryMarshal.GetReference(scaledQuery);
        var i = 0;
        var sum = 0f;
        if (Vector512.IsHardwareAccelerated && x.Length >= 64)
        {
            var a0 = Vector512<float>.Zero;
            var a1 = Vector512<float>.Zero;
            var a2 = Vector512<float>.Zero;
            var a3 = Vector512<float>.Zero;
            for (var n = x.Length - 64; i <= n; i += 64)
            {
                var (w0, w1) = Vector512.Widen(Vector512.LoadUnsafe(ref px, (nuint)i));
                var (w2, w3) = Vector512.Widen(Vector512.LoadUnsafe(ref px, (nuint)(i + 32)));
                a0 = Vector512.FusedMultiplyAdd(Bits(w0), Vector512.LoadUnsafe(ref py, (nuint)i), a0);
                a1 = Vector512.FusedMultiplyAdd(Bits(w1), Vector512.LoadUnsafe(ref py, (nuint)(i + 16)), a1);
                a2 = Vector512.FusedMultiplyAdd(Bits(w2), Vector512.LoadUnsafe(ref py, (nuint)(i + 32)), a2);
                a3 = Vector512.FusedMultiplyAdd(Bits(w3), Vector512.LoadUnsafe(ref py, (nuint)(i + 48)), a3);
            }

            sum = Vector512.Sum((a0 + a1) + (a2 + a3));
        }
        else if (Vector256.IsHardwareAccelerated && x.Length >= 32)
        {
            var a0 = Vector256<float>.Zero;
            var a1 = Vector256<float>.Zero;
            var a2 = Vector256<float>.Zero;
            var a3 = Vector256<float>.Zero;
            for (var n = x.Length - 32; i <= n; i += 32)
            {
                var (w0, w1) = Vector256.Widen(Vector256.LoadUnsafe(ref px, (nuint)i));
                var (w2, w3) = Vector256.Widen(Vector256.LoadUnsafe(ref px, (nuint)(i + 16)));
                a0 = Vector256.FusedMultiplyAdd(Bits(w0), Vector256.LoadUnsafe(ref py, (nuint)i), a0);
                a1 = Vector256.FusedMultiplyAdd(Bits(w1), Vector256.LoadUnsafe(ref py, (nuint)(i + 8)), a1);
                a2 = Vector256.FusedMultiplyAdd(Bits(w2), Vector256.LoadUnsafe(ref py, (nuint)(i + 16)), a2);
                a3 = Vector256.FusedMultiplyAdd(Bits(w3), Vector256.LoadUnsafe(ref py, (nuint)(i + 24)), a3);
            }

            sum = Vector256.Sum((a0 + a1) + (a2 + a3));
        }
        else if (Vector128.IsHardwareAccelerated && x.Length >= 16)
        {
            // Arm64 (AdvSimd) and x64 without AVX2: the same widening, 128 bits at a time. MultiplyAddEstimate is a
            // fused multiply-add where the CPU has one and a multiply then an add where it has not.
            var a0 = Vector128<float>.Zero;
            var a1 = Vector128<float>.Zero;
            var a2 = Vector128<float>.Zero;
            var a3 = Vector128<float>.Zero;
            for (var n = x.Length - 16; i <= n; i += 16)
            {
                var (w0, w1) = Vector128.Widen(Vector128.LoadUnsafe(ref px, (nuint)i));
                var (w2, w3) = Vector128.Widen(Vector128.LoadUnsafe(ref px, (nuint)(i + 8)));
                a0 = Vector128.MultiplyAddEstimate(Bits(w0), Vector128.LoadUnsafe(ref py, (nuint)i), a0);
                a1 = Vector128.MultiplyAddEstimate(Bits(w1), Vector128.LoadUnsafe(ref py, (nuint)(i + 4)), a1);
                a2 = Vector128.MultiplyAddEstimate(Bits(w2), Vector128.LoadUnsafe(ref py, (nuint)(i + 8)), a2);
                a3 = Vector128.MultiplyAddEstimate(Bits(w3), Vector128.LoadUnsafe(ref py, (nuint)(i + 12)), a3);
            }

            sum = Vector128.Sum((a0 + a1) + (a2 + a3));
        }

        for (; i < x.Length; i++)
        {
            sum += Bits(Unsafe.Add(ref px, i)) * Unsafe.Add(ref py, i);
        }

        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Bits(Vector512<int> w) => ((w << 13) & Vector512.Create(HalfBitsMask)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Bits(Vector256<int> w) => ((w << 13) & Vector256.Create(HalfBitsMask)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Bits(Vector128<int> w) => ((w << 13) & Vector128.Create(HalfBitsMask)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Bits(short h) => BitConverter.Int32BitsToSingle((h << 13) & HalfBitsMask);
}
