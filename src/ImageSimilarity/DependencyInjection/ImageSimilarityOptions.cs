using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;
using ImageSimilarity.Storage;

namespace ImageSimilarity;

/// <summary>
/// Settings for <see cref="Microsoft.Extensions.DependencyInjection.ImageSimilarityServiceCollectionExtensions.AddImageSimilarity(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{ImageSimilarityOptions}?)"/>,
/// bindable from configuration (for example the "ImageSimilarity" section of appsettings.json).
/// </summary>
/// <remarks>
/// Settable, as the options pattern needs; they are validated when the host starts (<c>ValidateOnStart</c>) and copied
/// into the immutable <see cref="Vgg16ExtractorOptions"/> and <see cref="EmbeddedVectorStoreOptions"/> once, so changing
/// them later has no effect.
/// </remarks>
public sealed class ImageSimilarityOptions
{
    /// <summary>Gets or sets the weights file; <see langword="null"/> for the environment variable, the cache, then a download.</summary>
    public string? WeightsPath { get; set; }

    /// <summary>
    /// Gets or sets the preprocessing preset that matches the weights. Default <see langword="null"/>: the weights' own,
    /// <see cref="PreprocessingPreset.KerasCaffe"/> for Keras .h5 weights, else <see cref="PreprocessingPreset.Torchvision"/>.
    /// </summary>
    public PreprocessingPreset? Preset { get; set; }

    /// <summary>Gets or sets the compute precision. Default <see cref="ComputePrecision.Float32"/>.</summary>
    public ComputePrecision Precision { get; set; } = ComputePrecision.Float32;

    /// <summary>Gets or sets how many images go through the model at once (<see cref="Vgg16ExtractorOptions.BatchSize"/>). Default 8; at least 1.</summary>
    public int BatchSize { get; set; } = Vgg16ExtractorOptions.DefaultBatchSize;

    /// <summary>Gets or sets the largest width x height of an image the extractor decodes (<see cref="ImageDecoderOptions.MaxPixels"/>). Default 100,000,000.</summary>
    public long MaxPixels { get; set; } = ImageDecoderOptions.DefaultMaxPixels;

    /// <summary>Gets or sets a value indicating whether the EXIF orientation tag is applied when decoding (<see cref="ImageDecoderOptions.ApplyExifOrientation"/>). Default <see langword="true"/>.</summary>
    public bool ApplyExifOrientation { get; set; } = true;

    /// <summary>Gets or sets the index file of the embedded store (an SQLite index, opened with <see cref="Storage.EmbeddedVectorStore.OpenOrCreateAsync"/>); <see langword="null"/> keeps the index in memory only.</summary>
    public string? IndexPath { get; set; }

    /// <summary>Gets or sets how the embedded store keeps vectors. Default <see cref="VectorPrecision.Single"/>.</summary>
    public VectorPrecision StorePrecision { get; set; } = VectorPrecision.Single;

    /// <summary>
    /// Gets or sets a value indicating whether the embedded store holds the vectors in memory (default
    /// <see langword="true"/>). <see langword="false"/> leaves them in the index file (<see cref="IndexPath"/> is then
    /// required): memory holds the ids, metadata and binary codes, and an index searched in two stages
    /// (<see cref="EmbeddedVectorStore.EnableTwoStageAsync"/>) reads only its candidates' vectors
    /// (<see cref="EmbeddedVectorStoreOptions.VectorsInMemory"/>).
    /// </summary>
    public bool VectorsInMemory { get; set; } = true;

    /// <summary>Gets or sets a value indicating whether the weights may be downloaded when not found. Default <see langword="true"/>.</summary>
    public bool AllowDownload { get; set; } = true;

    /// <summary>Copies the extractor's part into immutable extractor options (the options are validated first).</summary>
    internal Vgg16ExtractorOptions ToExtractorOptions() => new()
    {
        WeightsPath = WeightsPath,
        Preset = Preset,
        Precision = Precision,
        BatchSize = BatchSize,
        DecoderOptions = new ImageDecoderOptions { MaxPixels = MaxPixels, ApplyExifOrientation = ApplyExifOrientation },
        Download = new WeightsDownloadOptions { AllowDownload = AllowDownload },
    };

    /// <summary>Copies the store's part into immutable store options.</summary>
    internal EmbeddedVectorStoreOptions ToStoreOptions() => new() { Precision = StorePrecision, VectorsInMemory = VectorsInMemory };
}
