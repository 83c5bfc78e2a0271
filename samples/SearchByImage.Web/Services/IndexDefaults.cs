using ImageSimilarity;
using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;
using ImageSimilarity.Storage;

namespace SearchByImage.Web.Services;

/// <summary>
/// Fills what the "ImageSimilarity" configuration section leaves open the way the CLI does, so the app finds the
/// index the CLI wrote: the index path from <c>IMAGESIMILARITY_INDEX</c> or the per-user default, and the preset,
/// precision and weights file recorded in that index by <c>SearchByImage index</c>.
/// </summary>
internal static class IndexDefaults
{
    /// <summary>The environment variable the CLI reads for the index file.</summary>
    public const string IndexEnvironmentVariable = "IMAGESIMILARITY_INDEX";

    // The property keys SearchByImage's index command writes into the index file (samples/SearchByImage/IndexProperties.cs).
    private const string PresetProperty = "preset";
    private const string PrecisionProperty = "extraction-precision";
    private const string WeightsPathProperty = "weights-path";

    /// <summary>Gets the CLI's default index file: $IMAGESIMILARITY_INDEX, else &lt;local app data&gt;/ImageSimilarity/index.db.</summary>
    public static string DefaultIndexPath =>
        Environment.GetEnvironmentVariable(IndexEnvironmentVariable) is { Length: > 0 } fromEnv
            ? fromEnv
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "ImageSimilarity", "index.db");

    /// <param name="options">The library's options, filled in place.</param>
    /// <param name="section">The "ImageSimilarity" section (what the user set explicitly).</param>
    /// <param name="logger">Where to say what was chosen.</param>
    /// <param name="recorded">The properties recorded with a PostgreSQL table, or <see langword="null"/> to read the index file's.</param>
    public static void Apply(ImageSimilarityOptions options, IConfiguration section, ILogger logger, IReadOnlyDictionary<string, string>? recorded = null)
    {
        IReadOnlyDictionary<string, string> properties;
        if (recorded is not null)
        {
            properties = recorded;
        }
        else
        {
            if (string.IsNullOrEmpty(options.IndexPath))
            {
                options.IndexPath = DefaultIndexPath;
            }

            if (!File.Exists(options.IndexPath))
            {
                logger.LogWarning("The index file {IndexPath} does not exist yet: the app starts with an empty index. Build one with: dotnet run --project samples/SearchByImage -- index <folder> --index {IndexPath}", options.IndexPath, options.IndexPath);
                return;
            }

            try
            {
                properties = EmbeddedVectorStore.ReadInfoAsync(options.IndexPath).GetAwaiter().GetResult().Properties;
            }
            catch (IndexFileException)
            {
                return; // Opening the store reports the problem with the file name.
            }
        }

        if (section["Preset"] is null && properties.TryGetValue(PresetProperty, out var preset))
        {
            options.Preset = preset == "keras-caffe" ? PreprocessingPreset.KerasCaffe : PreprocessingPreset.Torchvision;
        }

        if (section["Precision"] is null && properties.TryGetValue(PrecisionProperty, out var precision))
        {
            options.Precision = precision == "bf16" ? ComputePrecision.BFloat16 : ComputePrecision.Float32;
        }

        if (string.IsNullOrEmpty(options.WeightsPath)
            && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Vgg16Weights.EnvironmentVariable))
            && properties.TryGetValue(WeightsPathProperty, out var weights) && File.Exists(weights))
        {
            options.WeightsPath = weights;
        }

        logger.LogInformation("Index {IndexPath}: preset {Preset}, precision {Precision}, weights {WeightsPath}", options.IndexPath, options.Preset, options.Precision, options.WeightsPath ?? "(environment, cache or download)");
    }
}
