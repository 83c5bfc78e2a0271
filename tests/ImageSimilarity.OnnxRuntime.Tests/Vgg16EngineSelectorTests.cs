using ImageSimilarity.Extraction;

namespace ImageSimilarity.OnnxRuntime;

public sealed class Vgg16EngineSelectorTests
{
    // The two kinds of host the side-by-side runs measured (docs/models.md), as /proc/cpuinfo shows them.
    private static readonly CpuFeatures AmdZen4 = CpuFeatures.Parse("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n\nprocessor\t: 1\n");
    private static readonly CpuFeatures IntelNoAmx = CpuFeatures.Parse("vendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum\nflags\t\t: fpu avx2 avx512f avx512_bf16 avx512_fp16\n");
    private static readonly CpuFeatures IntelAmx = CpuFeatures.Parse("vendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\nflags\t\t: fpu avx512f avx512_bf16 amx_bf16 amx_tile amx_int8\n");
    private static readonly CpuFeatures Plain = CpuFeatures.Parse("vendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Core(TM) i7\nflags\t\t: fpu avx2\n");

    [Fact]
    public void Parse_ReadsModelVendorAndFlags()
    {
        Assert.Equal("AMD EPYC", AmdZen4.ModelName);
        Assert.Equal("AuthenticAMD", AmdZen4.Vendor);
        Assert.True(AmdZen4.HasAvx512Bf16);
        Assert.False(AmdZen4.HasAmxBf16);
        Assert.True(IntelAmx.HasAmxBf16);
    }

    [Fact]
    public void Choose_Auto_Bf16TorchSharpOnAmdZen4()
    {
        var choice = Vgg16EngineSelector.Choose(null, null, AmdZen4);
        Assert.Equal((Vgg16Engine.TorchSharp, ComputePrecision.BFloat16), (choice.Engine, choice.Precision));
        Assert.Contains("AMD EPYC", choice.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Choose_Auto_Fp32OnnxRuntimeOnIntelWithoutAmx()
    {
        var choice = Vgg16EngineSelector.Choose(null, null, IntelNoAmx);
        Assert.Equal((Vgg16Engine.OnnxRuntime, ComputePrecision.Float32), (choice.Engine, choice.Precision));
        Assert.Equal((Vgg16Engine.OnnxRuntime, ComputePrecision.Float32), (Vgg16EngineSelector.Choose(null, null, Plain).Engine, Vgg16EngineSelector.Choose(null, null, Plain).Precision));
        Assert.Equal(ComputePrecision.BFloat16, Vgg16EngineSelector.Choose(null, null, IntelAmx).Precision);
    }

    [Fact]
    public void Choose_FixedParts_AreKept()
    {
        Assert.Equal(Vgg16Engine.OnnxRuntime, Vgg16EngineSelector.Choose(null, ComputePrecision.Float32, AmdZen4).Engine);
        Assert.Equal(ComputePrecision.Float32, Vgg16EngineSelector.Choose(Vgg16Engine.OnnxRuntime, null, AmdZen4).Precision);
        Assert.Equal(ComputePrecision.BFloat16, Vgg16EngineSelector.Choose(Vgg16Engine.TorchSharp, null, AmdZen4).Precision);
        Assert.Equal(ComputePrecision.Float32, Vgg16EngineSelector.Choose(Vgg16Engine.TorchSharp, null, IntelNoAmx).Precision);
        var ex = Assert.Throws<ArgumentException>(() => Vgg16EngineSelector.Choose(Vgg16Engine.OnnxRuntime, ComputePrecision.BFloat16, AmdZen4));
        Assert.Equal("precision", ex.ParamName);
    }
}
