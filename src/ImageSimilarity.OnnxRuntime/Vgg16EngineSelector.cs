using System.Diagnostics;
using System.Globalization;
using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>
/// Picks the fastest correct way to run VGG16 on this CPU ("auto"), and loads it.
/// </summary>
/// <remarks>
/// <para><see cref="ChooseAsync"/> measures: at the first use on a CPU model it runs each candidate (TorchSharp fp32,
/// ONNX Runtime fp32, TorchSharp bf16) on a tiny batch for a few seconds, picks the fastest and caches the speeds in a
/// small JSON file per CPU model (<see cref="Vgg16AutoOptions.CacheDirectory"/>); later uses read the file. A corrupt
/// file is ignored with a warning and rewritten. With measuring off, and in <see cref="Choose(Vgg16Engine?, ComputePrecision?)"/>,
/// a CPU rule decides instead.</para>
/// <para>The rule, from side-by-side runs at batch 8 (docs/models.md): bf16 pays off where the CPU runs bf16 matrix
/// products natively at full rate: AMX (Intel Sapphire Rapids and later) or AMD Zen 4+ (AVX512_BF16; bf16 2.0x fp32
/// measured on an AMD EPYC). Intel CPUs with AVX512_BF16 but no AMX run libtorch's bf16 GEMM slower than fp32 (0.6x
/// measured on a Xeon with AVX512_BF16/FP16), so they stay in fp32. In fp32, ONNX Runtime is the faster engine on both
/// kinds of host (1.14x and 1.21x TorchSharp fp32); bf16 needs TorchSharp (the ONNX Runtime engine is fp32 only).</para>
/// <para>The CPU is read from <c>/proc/cpuinfo</c> on Linux; elsewhere auto means fp32 on ONNX Runtime.</para>
/// </remarks>
public static partial class Vgg16EngineSelector
{
    /// <summary>The candidates "auto" measures, in the order they are measured and listed.</summary>
    private static readonly (Vgg16Engine Engine, ComputePrecision Precision)[] Candidates =
    [
        (Vgg16Engine.TorchSharp, ComputePrecision.Float32),
        (Vgg16Engine.OnnxRuntime, ComputePrecision.Float32),
        (Vgg16Engine.TorchSharp, ComputePrecision.BFloat16),
    ];

    /// <summary>
    /// Picks an engine and precision, by a short measurement on this CPU (cached per CPU model) unless
    /// <see cref="Vgg16AutoOptions.Measure"/> is off; <see langword="null"/> arguments mean "auto".
    /// </summary>
    /// <param name="engine">A fixed engine, or <see langword="null"/> to pick.</param>
    /// <param name="precision">A fixed precision, or <see langword="null"/> to pick.</param>
    /// <param name="options">The weights the measurement loads (resolved, and downloaded if needed, like <see cref="LoadAsync"/>) and the thread count; <see langword="null"/> for the defaults.</param>
    /// <param name="autoOptions">Measuring on or off, the cache folder, re-measuring; <see langword="null"/> for <see cref="Vgg16AutoOptions.Default"/>.</param>
    /// <param name="logger">Receives what was picked and why, the measurement, and a warning for a corrupt cache file.</param>
    /// <param name="progress">Receives download progress when the weights have to be downloaded for the measurement.</param>
    /// <param name="cancellationToken">Cancels the measurement.</param>
    /// <returns>The choice with its reason, source, and the measured speeds.</returns>
    /// <exception cref="ArgumentException">bf16 was asked for on the ONNX Runtime engine.</exception>
    /// <exception cref="WeightsFileException">The weights needed for the measurement cannot be found, downloaded or used.</exception>
    /// <exception cref="OperationCanceledException">The operation was cancelled.</exception>
    /// <remarks>
    /// Nothing is measured when only one candidate is left (both fixed, or the ONNX Runtime engine, which is fp32 only).
    /// A cache that cannot be written is reported as a warning; the choice is still made. The measurement runs the
    /// models on all cores: on a busy machine it may pick a slower path (delete the file or set
    /// <see cref="Vgg16AutoOptions.Remeasure"/> to measure again).
    /// </remarks>
    public static Task<Vgg16EngineChoice> ChooseAsync(
        Vgg16Engine? engine,
        ComputePrecision? precision,
        Vgg16ExtractorOptions? options = null,
        Vgg16AutoOptions? autoOptions = null,
        ILogger? logger = null,
        IProgress<WeightsDownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
        => ChooseCoreAsync(engine, precision, options, autoOptions, logger, progress, CpuFeatures.Current, cancellationToken);

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
            DecoderOptions = options.DecoderOptions,
        };
        return choice.Engine == Vgg16Engine.OnnxRuntime
            ? await Vgg16OnnxModel.CreateAsync(withPrecision, progress, cancellationToken).ConfigureAwait(false)
            : await Vgg16FeatureExtractor.CreateAsync(withPrecision, progress, cancellationToken).ConfigureAwait(false);
    }

    internal static async Task<Vgg16EngineChoice> ChooseCoreAsync(
        Vgg16Engine? engine,
        ComputePrecision? precision,
        Vgg16ExtractorOptions? options,
        Vgg16AutoOptions? autoOptions,
        ILogger? logger,
        IProgress<WeightsDownloadProgress>? progress,
        CpuFeatures cpu,
        CancellationToken cancellationToken)
    {
        options ??= Vgg16ExtractorOptions.Default;
        autoOptions ??= Vgg16AutoOptions.Default;
        logger ??= NullLogger.Instance;
        var rule = Choose(engine, precision, cpu); // validates the combination
        var allowed = Candidates.Where(c => (engine is null || c.Engine == engine) && (precision is null || c.Precision == precision)).ToArray();
        if (allowed.Length == 1)
        {
            if (engine is null || precision is null)
            {
                LogChoice(logger, EngineChoiceCache.EngineName(rule.Engine), EngineChoiceCache.PrecisionName(rule.Precision), rule.Reason);
            }

            return rule with { Source = Vgg16ChoiceSource.Fixed };
        }

        if (!autoOptions.Measure)
        {
            var byRule = rule with { Reason = rule.Reason + " (measuring is off: the CPU rule)", Source = Vgg16ChoiceSource.Rule };
            LogChoice(logger, EngineChoiceCache.EngineName(byRule.Engine), EngineChoiceCache.PrecisionName(byRule.Precision), byRule.Reason);
            return byRule;
        }

        var path = EngineChoiceCache.PathFor(autoOptions.CacheDirectory, cpu);
        string? warning = null;
        if (!autoOptions.Remeasure)
        {
            var cached = EngineChoiceCache.Read(path, cpu, out var problem);
            if (cached is not null && allowed.All(a => cached.Any(m => m.Engine == a.Engine && m.Precision == a.Precision)))
            {
                var fromCache = Pick(cached, allowed, cpu, Vgg16ChoiceSource.Cached, path, null);
                LogChoice(logger, EngineChoiceCache.EngineName(fromCache.Engine), EngineChoiceCache.PrecisionName(fromCache.Precision), fromCache.Reason);
                return fromCache;
            }

            if (problem is not null)
            {
                warning = $"the auto cache file '{path}' was ignored because {problem}; measuring again and rewriting it";
                LogCacheProblem(logger, path, problem);
            }
        }

        var weights = await Vgg16Weights.ResolveAsync(options.WeightsPath, options.Download, progress, cancellationToken).ConfigureAwait(false);
        LogMeasuring(logger, cpu.ModelName, path);
        var measured = await Task.Run(() => MeasureAll(weights, options, autoOptions, logger, cancellationToken), cancellationToken).ConfigureAwait(false);
        if (!allowed.Any(a => measured.Any(m => m.Engine == a.Engine && m.Precision == a.Precision)))
        {
            var fallback = rule with { Reason = rule.Reason + " (the measurement failed: the CPU rule)", Source = Vgg16ChoiceSource.Rule, Warning = "no candidate could be measured" };
            LogChoice(logger, EngineChoiceCache.EngineName(fallback.Engine), EngineChoiceCache.PrecisionName(fallback.Precision), fallback.Reason);
            return fallback;
        }

        try
        {
            EngineChoiceCache.Write(path, cpu, autoOptions.BatchSize, measured);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            warning = $"the auto cache file '{path}' could not be written ({ex.Message}); the next run measures again";
            LogCacheProblem(logger, path, ex.Message);
        }

        var choice = Pick(measured, allowed, cpu, Vgg16ChoiceSource.Measured, path, warning);
        LogChoice(logger, EngineChoiceCache.EngineName(choice.Engine), EngineChoiceCache.PrecisionName(choice.Precision), choice.Reason);
        return choice;
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

    private static Vgg16EngineChoice Pick(IReadOnlyList<Vgg16EngineMeasurement> measurements, (Vgg16Engine Engine, ComputePrecision Precision)[] allowed, CpuFeatures cpu, Vgg16ChoiceSource source, string path, string? warning)
    {
        var best = measurements
            .Where(m => allowed.Contains((m.Engine, m.Precision)))
            .MaxBy(m => m.ImagesPerSecond)!;
        var speeds = string.Join(", ", measurements.Select(m => string.Create(CultureInfo.InvariantCulture, $"{EngineChoiceCache.EngineName(m.Engine)} {EngineChoiceCache.PrecisionName(m.Precision)} {m.ImagesPerSecond:F2}")));
        var among = allowed.Length == Candidates.Length ? "the fastest" : "the fastest allowed";
        var how = source == Vgg16ChoiceSource.Cached ? "measured earlier" : "measured now";
        var reason = string.Create(CultureInfo.InvariantCulture, $"CPU '{cpu.ModelName}' ({Environment.ProcessorCount} cores), {how}: {speeds} img/s; {EngineChoiceCache.EngineName(best.Engine)} {EngineChoiceCache.PrecisionName(best.Precision)} is {among} (cache: {path})");
        return new Vgg16EngineChoice(best.Engine, best.Precision, reason) { Source = source, Measurements = measurements, CacheFile = path, Warning = warning };
    }

    private static List<Vgg16EngineMeasurement> MeasureAll(string weights, Vgg16ExtractorOptions options, Vgg16AutoOptions autoOptions, ILogger logger, CancellationToken cancellationToken)
    {
        var random = new Random(12345);
        var size = ImagePreprocessor.InputSize;
        var inputs = Enumerable.Range(0, autoOptions.BatchSize)
            .Select(i => new PreprocessedImage($"auto{i}", Enumerable.Range(0, 3 * size * size).Select(_ => (random.NextSingle() * 4) - 2).ToArray(), 3, size, size))
            .ToList();
        var results = new List<Vgg16EngineMeasurement>();
        foreach (var (engine, precision) in Candidates)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var candidateOptions = new Vgg16ExtractorOptions
            {
                WeightsPath = weights,
                Preset = options.Preset,
                Precision = precision,
                BatchSize = autoOptions.BatchSize,
                ThreadCount = options.ThreadCount,
                DecoderOptions = options.DecoderOptions,
            };
            try
            {
                using IPreprocessingFeatureExtractor extractor = engine == Vgg16Engine.OnnxRuntime
                    ? Vgg16OnnxModel.Load(weights, candidateOptions)
                    : Vgg16FeatureExtractor.Load(weights, candidateOptions);
                var seconds = TimeRuns(extractor, inputs, autoOptions.Runs, cancellationToken);
                var speed = inputs.Count / seconds;
                LogMeasured(logger, EngineChoiceCache.EngineName(engine), EngineChoiceCache.PrecisionName(precision), speed);
                results.Add(new Vgg16EngineMeasurement(engine, precision, speed));
            }
            catch (Exception ex) when (ex is not (OperationCanceledException or WeightsFileException or OutOfMemoryException))
            {
                // A path this machine cannot run (a libtorch without bf16 kernels, say) is simply not a candidate.
                LogCandidateFailed(logger, EngineChoiceCache.EngineName(engine), EngineChoiceCache.PrecisionName(precision), ex.Message);
            }
        }

        return results;
    }

    /// <summary>One warm-up run, then the fastest of <paramref name="runs"/> timed runs (the warm-up alone when it took over 15 s).</summary>
    private static double TimeRuns(IPreprocessingFeatureExtractor extractor, IReadOnlyList<PreprocessedImage> inputs, int runs, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        extractor.ExtractPreprocessedAsync(inputs, cancellationToken).GetAwaiter().GetResult();
        var best = clock.Elapsed.TotalSeconds;
        if (best > 15)
        {
            return best;
        }

        for (var i = 0; i < runs; i++)
        {
            clock.Restart();
            extractor.ExtractPreprocessedAsync(inputs, cancellationToken).GetAwaiter().GetResult();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }

        return best;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "VGG16 auto: {Engine} {Precision} ({Reason})")]
    private static partial void LogChoice(ILogger logger, string engine, string precision, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "VGG16 auto: the cache file {Path} was ignored because {Problem}; measuring again and rewriting it")]
    private static partial void LogCacheProblem(ILogger logger, string path, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "VGG16 auto: no measurement cached for CPU '{Cpu}'; timing each engine and precision on a tiny batch (a few seconds each), result cached in {Path}")]
    private static partial void LogMeasuring(ILogger logger, string cpu, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "VGG16 auto: {Engine} {Precision} ran {ImagesPerSecond:F2} img/s")]
    private static partial void LogMeasured(ILogger logger, string engine, string precision, double imagesPerSecond);

    [LoggerMessage(Level = LogLevel.Warning, Message = "VGG16 auto: {Engine} {Precision} could not be measured and is left out: {Message}")]
    private static partial void LogCandidateFailed(ILogger logger, string engine, string precision, string message);
}
