using ImageSimilarity.Imaging;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>How an <see cref="OnnxFeatureExtractor"/> runs its model.</summary>
/// <remarks>Immutable once built; validated when handed to the extractor.</remarks>
public sealed class OnnxExtractorOptions
{
    /// <summary>Gets the default options.</summary>
    public static OnnxExtractorOptions Default { get; } = new();

    /// <summary>Gets the number of images per model run; default 8. Models whose file fixes the batch to 1 are given a dynamic batch.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Gets the number of threads ONNX Runtime uses inside one run; 0 (default) uses one per core.</summary>
    public int ThreadCount { get; init; }

    /// <summary>
    /// Gets a value indicating whether ONNX Runtime's threads spin while they wait for work (ONNX Runtime's own default).
    /// Default <see langword="false"/>: spinning threads take the cores the decode workers of a folder indexer (and
    /// other processes) need; see docs/indexing.md for the measurement.
    /// </summary>
    public bool SpinWait { get; init; }

    /// <summary>Gets how images are decoded; default <see cref="ImageDecoderOptions.Default"/>.</summary>
    public ImageDecoderOptions DecoderOptions { get; init; } = ImageDecoderOptions.Default;

    /// <summary>
    /// Gets a value indicating whether a batch dimension fixed to 1 in the file is made dynamic (default
    /// <see langword="true"/>). When <see langword="false"/>, such a model runs one image per call.
    /// </summary>
    public bool MakeBatchDynamic { get; init; } = true;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(BatchSize, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfNegative(ThreadCount, nameof(ThreadCount));
        ArgumentNullException.ThrowIfNull(DecoderOptions, nameof(DecoderOptions));
    }
}
