using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;
using ImageSimilarity.Storage;

namespace ImageSimilarity;

/// <summary>
/// Settings for <see cref="Microsoft.Extensions.DependencyInjection.ImageSimilarityServiceCollectionExtensions.AddImageSimilarity(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{ImageSimilarityOptions}?)"/>,
/// bindable from configuration (for example the "ImageSimilarity" section of appsettings.json).
/// </summary>
public sealed class ImageSimilarityOptions
{
    /// <summary>Gets or sets the weights file; <see langword="null"/> for the environment variable, the cache, then a download.</summary>
    public string? WeightsPath { get; set; }

    /// <summary>Gets or sets the preprocessing preset that matches the weights. Default <see cref="PreprocessingPreset.Torchvision"/>.</summary>
    public PreprocessingPreset Preset { get; set; } = PreprocessingPreset.Torchvision;

    /// <summary>Gets or sets the compute precision. Default <see cref="ComputePrecision.Float32"/>.</summary>
    public ComputePrecision Precision { get; set; } = ComputePrecision.Float32;

    /// <summary>Gets or sets how many images go through the model at once. Default 8.</summary>
    public int BatchSize { get; set; } = 8;

    /// <summary>Gets or sets the index file of the embedded store (an SQLite index, opened with <see cref="Storage.EmbeddedVectorStore.OpenOrCreateAsync"/>); <see langword="null"/> keeps the index in memory only.</summary>
    public string? IndexPath { get; set; }

    /// <summary>Gets or sets how the embedded store keeps vectors. Default <see cref="VectorPrecision.Single"/>.</summary>
    public VectorPrecision StorePrecision { get; set; } = VectorPrecision.Single;

    /// <summary>Gets or sets a value indicating whether the weights may be downloaded when not found. Default <see langword="true"/>.</summary>
    public bool AllowDownload { get; set; } = true;

    internal void Validate()
    {
        if (BatchSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "ImageSimilarity:BatchSize must be at least 1.");
        }

        if (!Enum.IsDefined(Preset))
        {
            throw new ArgumentOutOfRangeException(nameof(Preset), Preset, "ImageSimilarity:Preset must be Torchvision or KerasCaffe.");
        }

        if (!Enum.IsDefined(Precision))
        {
            throw new ArgumentOutOfRangeException(nameof(Precision), Precision, "ImageSimilarity:Precision must be Float32 or BFloat16.");
        }
    }
}
