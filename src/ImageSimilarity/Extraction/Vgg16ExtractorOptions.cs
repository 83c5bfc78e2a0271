using ImageSimilarity.Imaging;

namespace ImageSimilarity.Extraction;

/// <summary>How a <see cref="Vgg16FeatureExtractor"/> is built: which weights, which preprocessing, which precision.</summary>
/// <remarks>Immutable once built (init-only properties); values are checked when they are set.</remarks>
public sealed class Vgg16ExtractorOptions
{
    /// <summary>The default of <see cref="BatchSize"/>.</summary>
    public const int DefaultBatchSize = 8;

    /// <summary>
    /// Gets the default options: official weights (resolved by <see cref="Vgg16Weights.ResolveAsync"/>), the weights' own
    /// preset, fp32, batch 8, <see cref="ImageDecoderOptions.Default"/> decoding.
    /// </summary>
    public static Vgg16ExtractorOptions Default { get; } = new();

    /// <summary>
    /// Gets the weights file (.pth zip or legacy, .safetensors, or Keras .h5). <see langword="null"/> (the default) resolves
    /// the official file: <see cref="Vgg16Weights.EnvironmentVariable"/>, then the cache, then Keras' file in
    /// <see cref="Vgg16Weights.KerasCacheDirectory"/>, then a download.
    /// </summary>
    public string? WeightsPath { get; init; }

    /// <summary>
    /// Gets how images are preprocessed; it must match the weights. Default <see langword="null"/>: the weights' own,
    /// <see cref="PreprocessingPreset.KerasCaffe"/> for Keras weights (.h5), else <see cref="PreprocessingPreset.Torchvision"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined preset.</exception>
    public PreprocessingPreset? Preset
    {
        get;
        init
        {
            if (value is { } preset && !Enum.IsDefined(preset))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "Unknown preprocessing preset.");
            }

            field = value;
        }
    }

    /// <summary>Gets the compute precision. Default <see cref="ComputePrecision.Float32"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined precision.</exception>
    public ComputePrecision Precision
    {
        get;
        init
        {
            if (!Enum.IsDefined(value))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "Unknown compute precision.");
            }

            field = value;
        }
    } = ComputePrecision.Float32;

    /// <summary>
    /// Gets how many images go through the network at once. Default <see cref="DefaultBatchSize"/>; at least 1. This is
    /// the only batch size: the folder indexer and the searcher hand the extractor lists of any length and it cuts them
    /// into batches of this size.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int BatchSize
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            field = value;
        }
    } = DefaultBatchSize;

    /// <summary>
    /// Gets the number of threads libtorch uses inside one forward pass; 0 (the default) means
    /// <see cref="Environment.ProcessorCount"/>. This is a process-wide libtorch setting: the last extractor created wins.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int ThreadCount
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            field = value;
        }
    }

    /// <summary>
    /// Gets how images are decoded: the pixel limit (<see cref="ImageDecoderOptions.MaxPixels"/>), EXIF orientation and
    /// background. Default <see cref="ImageDecoderOptions.Default"/>. The keras-caffe preset takes only the pixel limit
    /// from it and decodes as Keras' <c>load_img</c> does (<see cref="ImageDecoderOptions.KerasLoadImage"/>).
    /// </summary>
    /// <exception cref="ArgumentNullException">The value is <see langword="null"/>.</exception>
    public ImageDecoderOptions DecoderOptions
    {
        get;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            field = value;
        }
    } = ImageDecoderOptions.Default;

    /// <summary>Gets where and how the official weights are downloaded when <see cref="WeightsPath"/> is <see langword="null"/>.</summary>
    /// <exception cref="ArgumentNullException">The value is <see langword="null"/>.</exception>
    public WeightsDownloadOptions Download
    {
        get;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            field = value;
        }
    } = WeightsDownloadOptions.Default;
}
