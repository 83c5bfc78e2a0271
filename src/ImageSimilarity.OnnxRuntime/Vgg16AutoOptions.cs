using ImageSimilarity.Extraction;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>How "auto" picks the VGG16 engine and precision (<see cref="Vgg16EngineSelector.ChooseAsync"/>).</summary>
/// <remarks>
/// Immutable once built. By default the first use on a CPU model runs each candidate (TorchSharp fp32, ONNX Runtime
/// fp32, TorchSharp bf16) for a few seconds on a tiny batch and caches the speeds in a small JSON file named after the
/// CPU model; later uses read it. Set <see cref="Measure"/> to <see langword="false"/> (or the environment variable
/// <c>IMAGESIMILARITY_AUTO_MEASURE=0</c>) to use the CPU rule instead.
/// </remarks>
public sealed class Vgg16AutoOptions
{
    /// <summary>The environment variable that turns the measurement off when it is <c>0</c> or <c>false</c>.</summary>
    public const string MeasureEnvironmentVariable = "IMAGESIMILARITY_AUTO_MEASURE";

    /// <summary>Gets the default options (read the environment when used).</summary>
    public static Vgg16AutoOptions Default { get; } = new();

    private readonly bool? _measure;

    /// <summary>
    /// Gets a value indicating whether auto measures (and caches) the candidates; <see langword="false"/> applies the CPU
    /// rule. Default: <see langword="true"/> unless <see cref="MeasureEnvironmentVariable"/> is <c>0</c> or <c>false</c>.
    /// </summary>
    public bool Measure
    {
        get => _measure ?? !(Environment.GetEnvironmentVariable(MeasureEnvironmentVariable)?.Trim().ToUpperInvariant() is "0" or "FALSE");
        init => _measure = value;
    }

    /// <summary>
    /// Gets the folder of the cache files. Default: <c>engine-choice</c> in <see cref="Vgg16Weights.DefaultCacheDirectory"/>
    /// (<c>$IMAGESIMILARITY_CACHE</c>, else <c>$XDG_CACHE_HOME/imagesimilarity</c>, else <c>~/.cache/imagesimilarity</c>).
    /// </summary>
    /// <exception cref="ArgumentException">The value is empty or white space.</exception>
    public string CacheDirectory
    {
        get => field ?? Path.Combine(Vgg16Weights.DefaultCacheDirectory, "engine-choice");
        init
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(value);
            field = value;
        }
    }

    /// <summary>Gets a value indicating whether a cached measurement is ignored, measured again and overwritten. Default <see langword="false"/>.</summary>
    public bool Remeasure { get; init; }

    /// <summary>Gets the batch size of the measurement. Default 2.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int BatchSize
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            field = value;
        }
    } = 2;

    /// <summary>Gets how many timed runs each candidate gets after its warm-up run (the fastest counts). Default 2.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int Runs
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            field = value;
        }
    } = 2;
}
