namespace ImageSimilarity.Storage;

public sealed class VectorKernelsTests
{
    /// <summary>
    /// CI runs the kernel tests again with the wide vectors turned off, to reach the Vector256 and Vector128 paths on
    /// an AVX-512 machine: this checks that such a run really took those paths. (.NET 10 reads DOTNET_EnableAVX512;
    /// the older DOTNET_EnableAVX512F=0 leaves AVX-512 on, so a leg using it would test nothing new.)
    /// </summary>
    [Fact]
    public void KernelPath_TheVectorWidthsTurnedOffByTheEnvironmentAreOff()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_EnableAVX512") == "0" || Environment.GetEnvironmentVariable("DOTNET_EnableAVX512F") == "0")
        {
            Assert.False(System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated, "AVX-512 is still on: .NET 10 needs DOTNET_EnableAVX512=0");
        }

        if (Environment.GetEnvironmentVariable("DOTNET_EnableAVX2") == "0")
        {
            Assert.False(System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated);
            Assert.True(System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated);
        }
    }

    public static TheoryData<int> Lengths() => [1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 1000, 4095, 4096, 4097];

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Dot_AnyLength_MatchesFloat64(int length)
    {
        var random = new Random(length);
        var x = TestVectors.Random(random, length);
        var y = TestVectors.Random(random, length);
        var exact = 0.0;
        for (var i = 0; i < length; i++)
        {
            exact += (double)x[i] * y[i];
        }

        Assert.Equal(exact, VectorKernels.Dot(x, y), 1e-4 * Math.Sqrt(length));
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Dot2_AnyLength_EqualsTwoDots(int length)
    {
        var random = new Random(length + 7);
        var x0 = TestVectors.Random(random, length);
        var x1 = TestVectors.Random(random, length);
        var y = TestVectors.Random(random, length);
        VectorKernels.Dot2(x0, x1, y, out var d0, out var d1);
        Assert.Equal(VectorKernels.Dot(x0, y), d0, 1e-4f * MathF.Sqrt(length));
        Assert.Equal(VectorKernels.Dot(x1, y), d1, 1e-4f * MathF.Sqrt(length));
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void DotHalf_AnyLength_MatchesFloat64OfWidenedValues(int length)
    {
        var halves = SpecialHalves(length);
        var query = TestVectors.Random(new Random(length + 1), length);
        var prepared = new float[length];
        VectorKernels.PrepareHalfQuery(query, prepared);
        var exact = 0.0;
        var magnitude = 0.0;
        for (var i = 0; i < length; i++)
        {
            exact += (double)(float)halves[i] * query[i];
            magnitude += Math.Abs((double)(float)halves[i] * query[i]);
        }

        Assert.Equal(exact, VectorKernels.DotHalf(halves, prepared), (1e-6 * magnitude) + 1e-30);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void DotHalf2_AnyLength_EqualsTwoDotHalfs(int length)
    {
        var x0 = SpecialHalves(length);
        var x1 = SpecialHalves(length + 5).AsSpan(0, length).ToArray();
        var query = TestVectors.Random(new Random(length + 3), length);
        var prepared = new float[length];
        VectorKernels.PrepareHalfQuery(query, prepared);
        VectorKernels.DotHalf2(x0, x1, prepared, out var d0, out var d1);

        // The two kernels add in a different order: allow float rounding of the sum of magnitudes.
        Assert.Equal(VectorKernels.DotHalf(x0, prepared), d0, (1e-6 * Magnitude(x0, query)) + 1e-30);
        Assert.Equal(VectorKernels.DotHalf(x1, prepared), d1, (1e-6 * Magnitude(x1, query)) + 1e-30);
    }

    [Fact]
    public void PrepareHalfQuery_IsAPermutationOfTheScaledQuery()
    {
        var query = Enumerable.Range(1, 100).Select(i => (float)i).ToArray();
        var prepared = new float[query.Length];
        VectorKernels.PrepareHalfQuery(query, prepared);
        Assert.Equal(query.Select(v => v * VectorKernels.HalfQueryScale).Order(), prepared.Order());
        var group = VectorKernels.HalfGroup;
        if (group > 1)
        {
            // Even elements of the first group first, then its odd ones.
            Assert.Equal(query[0] * VectorKernels.HalfQueryScale, prepared[0]);
            Assert.Equal(query[2] * VectorKernels.HalfQueryScale, prepared[1]);
            Assert.Equal(query[1] * VectorKernels.HalfQueryScale, prepared[group / 2]);
        }
    }

    private static double Magnitude(Half[] x, float[] y)
    {
        var sum = 0.0;
        for (var i = 0; i < x.Length; i++)
        {
            sum += Math.Abs((double)(float)x[i] * y[i]);
        }

        return sum;
    }

    // Normal, subnormal, zero and negative-zero halves of both signs: every case the bit-level widening handles.
    private static Half[] SpecialHalves(int length)
    {
        var random = new Random(length * 31);
        var halves = new Half[length];
        for (var i = 0; i < length; i++)
        {
            halves[i] = (i % 6) switch
            {
                0 => (Half)((random.NextSingle() * 2) - 1),
                1 => BitConverter.UInt16BitsToHalf((ushort)random.Next(1, 0x400)),
                2 => BitConverter.UInt16BitsToHalf((ushort)(0x8000 | random.Next(1, 0x400))),
                3 => i % 12 == 3 ? (Half)0f : BitConverter.UInt16BitsToHalf(0x8000),
                4 => BitConverter.UInt16BitsToHalf((ushort)random.Next(0x0400, 0x7C00)),
                _ => (Half)(-random.NextSingle() * 0.01f),
            };
        }

        return halves;
    }
}
