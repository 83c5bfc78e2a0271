using ImageSimilarity.Imaging;

namespace ImageSimilarity.Extraction;

/// <summary>How a <see cref="Vgg16FeatureExtractor"/> is built: which weights, which preprocessing, which precision.</summary>
public sealed class Vgg16ExtractorOptions
{
    private int _batchSize = 8;
    private int _threadCount;

    /// <summary>
    /// Gets a new instance with the default options: official weights (resolved by <see cref="Vgg16Weights.ResolveAsync"/>),
    /// the weights' own preset, fp32, batch 8 (a fresh instance each time, so changing it affects nobody else).
    /// </summary>
    public static Vgg16ExtractorOptions Default => new();

    /// <summary>
    /// Gets or sets the weights file (.pth zip or legacy, .safetensors, or Keras .h5). <see langword="null"/> (the default) resolves
    /// the official file: <see cref="Vgg16Weights.EnvironmentVariable"/>, then the cache, then a download.
    /// </summary>
    public string? WeightsPath { get; set; }

    /// <summary>
    /// Gets or sets how images are preprocessed; it must match the weights. Default <see langword="null"/>: the weights'
    /// own, <see cref="PreprocessingPreset.KerasCaffe"/> for Keras weights (.h5), else <see cref="PreprocessingPreset.Torchvision"/>.
    /// </summary>
    public PreprocessingPreset? Preset { get; set; }

    /// <summary>Gets or sets the compute precision. Default <see cref="ComputePrecision.Float32"/>.</summary>
    public ComputePrecision Precision { get; set; } = ComputePrecision.Float32;

    /// <summary>Gets or sets how many images go through the network at once. Default 8; at least 1.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int BatchSize
    {
        get => _batchSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _batchSize = value;
        }
    }

    /// <summary>
    /// Gets or sets the number of threads libtorch uses inside one forward pass; 0 (the default) means
    /// <see cref="Environment.ProcessorCount"/>. This is a process-wide libtorch setting: the last extractor created wins.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int ThreadCount
    {
        get => _threadCount;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _threadCount = value;
        }
    }

    /// <summary>Gets or sets where and how the official weights are downloaded when <see cref="WeightsPath"/> is <see langword="null"/>.</summary>
    public WeightsDownloadOptions Download { get; set; } = new();
}
