using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;
using ImageSimilarity.Storage;
using Microsoft.Extensions.Options;

namespace ImageSimilarity;

/// <summary>Checks <see cref="ImageSimilarityOptions"/> when the host starts, listing every wrong setting by its configuration key.</summary>
internal sealed class ImageSimilarityOptionsValidator : IValidateOptions<ImageSimilarityOptions>
{
    public ValidateOptionsResult Validate(string? name, ImageSimilarityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.BatchSize <= 0)
        {
            failures.Add($"ImageSimilarity:BatchSize must be at least 1 (it is {options.BatchSize}).");
        }

        if (options.MaxPixels <= 0)
        {
            failures.Add($"ImageSimilarity:MaxPixels must be at least 1 (it is {options.MaxPixels}).");
        }

        if (options.Preset is { } preset && !Enum.IsDefined(preset))
        {
            failures.Add($"ImageSimilarity:Preset must be {nameof(PreprocessingPreset.Torchvision)} or {nameof(PreprocessingPreset.KerasCaffe)} (it is {options.Preset}).");
        }

        if (!Enum.IsDefined(options.Precision))
        {
            failures.Add($"ImageSimilarity:Precision must be {nameof(ComputePrecision.Float32)} or {nameof(ComputePrecision.BFloat16)} (it is {options.Precision}).");
        }

        if (!Enum.IsDefined(options.StorePrecision))
        {
            failures.Add($"ImageSimilarity:StorePrecision must be {nameof(VectorPrecision.Single)}, {nameof(VectorPrecision.Half)} or {nameof(VectorPrecision.Int8)} (it is {options.StorePrecision}).");
        }

        if (!options.VectorsInMemory && options.IndexPath is null)
        {
            failures.Add("ImageSimilarity:VectorsInMemory can be false only with ImageSimilarity:IndexPath (the vectors are then read from the index file); set an IndexPath or leave VectorsInMemory true.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
