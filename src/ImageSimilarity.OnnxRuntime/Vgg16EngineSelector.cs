using ImageSimilarity.Extraction;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>
/// Picks the fastest correct way to run VGG16 on this CPU ("auto"), and loads it.
/// </summary>
/// <remarks>
/// <para>The rule, from side-by-side runs at batch 8 (docs/models.md): bf16 pays off where the CPU runs bf16 matrix
/// products natively at full rate: AMX (Intel Sapphire Rapids and later) or AMD Zen 4+ (AVX512_BF16; bf16 2.0x fp32
/// measured on an AMD EPYC). Intel CPUs with AVX512_BF16 but no AMX run libtorch's bf16 GEMM slower than fp32 (0.6x
/// measured on a Xeon with AVX512_BF16/FP16), so they stay in fp32. In fp32, ONNX Runtime is the faster engine on both
/// kinds of host (1.14x and 1.21x TorchSharp fp32); bf16 needs TorchSharp (the ONNX Runtime engine is fp32 only).</para>
/// <para>The CPU is read from <c>/proc/cpuinfo</c> on Linux; elsewhere auto means fp32 on ONNX Runtime.</para>
/// </remarks>
public static class Vgg16EngineSelector
{
    /// <summary>Picks an engine and precision; <see langword="null"/> arguments mean "auto".</summary>
    /// <param name="engine">A fixed engine, or <see langword="null"/> to pick.</param>
    /// <param name="precision">A fixed precision, or <see langword="null"/> to pick.</param>
    /// <returns>The choice with its reason.</returns>
    /// <exception cref="ArgumentException">bf16 was asked for on the ONNX Runtime engine.</exception>
    public static Vgg16EngineChoice Choose(Vgg16Engine? engine, ComputePrecision? precision) => Choose(engine, precision, CpuFeatures.Current);

    /// <summary>Loads VGG16 with the chosen engine and precision.</summary>
    /// <param name="choice">From <see cref="Choose(Vgg16Engine?, ComputePrecision?)"/>.</param>
    /// <param name="options">Weights, preset, batch size, threads; its precision is replaced by the choice's. <see langword="null"/> for the defaults.</param>
    /// <param name="progress">Receives download progress when the weights have to be downloaded.</param>
    /// <param name="cancellationToken">Cancels resolution and download.</param>
    /// <returns>The extractor; the caller disposes it. Both engines give the same <see cref="IFeatureExtractor.ModelId"/>.</returns>
    /// <exception cref="WeightsFileException">The weights cannot be found, downloaded or used.</exception>
    /// <exception cref="OperationCanceledException">The operation was cancelled.</exception>
    public static async Task<IFeatureExtractor> LoadAsync(Vgg16EngineChoice choice, Vgg16ExtractorOptions? options = null, IProgress<WeightsDownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(choice);
        options ??= Vgg16ExtractorOptions.Default;
        var withPrecision = new Vgg16ExtractorOptions
        {
            WeightsPath = options.WeightsPath,
            Preset = options.Preset,
            Precision = choice.Precision,
            BatchSize = options.BatchSize,
            ThreadCount = options.ThreadCount,
            Download = options.Download,
        };
        return choice.Engine == Vgg16Engine.OnnxRuntime
            ? await Vgg16OnnxModel.CreateAsync(withPrecision, progress, cancellationToken).ConfigureAwait(false)
            : await Vgg16FeatureExtractor.CreateAsync(withPrecision, progress, cancellationToken).ConfigureAwait(false);
    }

    internal static Vgg16EngineChoice Choose(Vgg16Engine? engine, ComputePrecision? precision, CpuFeatures cpu)
    {
        if (engine == Vgg16Engine.OnnxRuntime && precision == ComputePrecision.BFloat16)
        {
            throw new ArgumentException("The ONNX Runtime engine computes VGG16 in fp32 only; use the TorchSharp engine for bf16.", nameof(precision));
        }

        var why = new List<string>();
        ComputePrecision chosenPrecision;
        if (precision is { } fixedPrecision)
        {
            chosenPrecision = fixedPrecision;
        }
        else if (engine == Vgg16Engine.OnnxRuntime)
        {
            chosenPrecision = ComputePrecision.Float32;
            why.Add("fp32: the ONNX Runtime engine is fp32 only");
        }
        else if (cpu.FastBf16)
        {
            chosenPrecision = ComputePrecision.BFloat16;
            why.Add(cpu.HasAmxBf16 ? "bf16: the CPU has AMX-BF16" : "bf16: AMD CPU with AVX512_BF16 (Zen 4+), bf16 about 2x fp32");
        }
        else
        {
            chosenPrecision = ComputePrecision.Float32;
            why.Add(cpu.HasAvx512Bf16 ? "fp32: AVX512_BF16 without AMX on this vendor runs bf16 slower than fp32" : "fp32: no native bf16 matrix instructions");
        }

        Vgg16Engine chosenEngine;
        if (engine is { } fixedEngine)
        {
            chosenEngine = fixedEngine;
        }
        else if (chosenPrecision == ComputePrecision.BFloat16)
        {
            chosenEngine = Vgg16Engine.TorchSharp;
            why.Add("TorchSharp: the engine that computes in bf16");
        }
        else
        {
            chosenEngine = Vgg16Engine.OnnxRuntime;
            why.Add("ONNX Runtime: the faster fp32 engine");
        }

        var reason = $"CPU '{cpu.ModelName}' ({cpu.Summary})" + (why.Count > 0 ? ": " + string.Join("; ", why) : ": fixed by the caller");
        return new Vgg16EngineChoice(chosenEngine, chosenPrecision, reason);
    }
}
