using ImageSimilarity.OnnxRuntime;
using ImageSimilarity.Storage;

namespace SearchByImage.Web.Services;

/// <summary>
/// Chooses the model the way the CLI does: <c>SearchByImage:Model</c> (<c>vgg16</c>, <c>resnet18</c> or
/// <c>onnx:&lt;file&gt;</c>) when set, else the model the CLI recorded in the index, else VGG16. An index built by
/// <c>SearchByImage index --model resnet18</c> (the README's first command) is therefore served with ResNet18.
/// </summary>
internal static class ModelRegistration
{
    /// <summary>The configuration key of the model (<c>SearchByImage__Model</c> in the environment).</summary>
    public const string ModelKey = WebAppOptions.SectionName + ":Model";

    // The property key SearchByImage's index command writes (samples/SearchByImage/IndexProperties.cs).
    private const string ModelProperty = "model";

    /// <summary>Registers the chosen ONNX Runtime model before <c>AddImageSimilarity</c>; VGG16 needs nothing here.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The app's configuration.</param>
    /// <param name="librarySection">The "ImageSimilarity" section (the index file).</param>
    /// <param name="recorded">The properties recorded with a PostgreSQL table, or <see langword="null"/> to read the index file's.</param>
    /// <returns>The model's name, for the log.</returns>
    public static string AddModel(IServiceCollection services, IConfiguration configuration, IConfiguration librarySection, IReadOnlyDictionary<string, string>? recorded = null)
    {
        var fromIndex = recorded is null ? RecordedModel(librarySection) : recorded.GetValueOrDefault(ModelProperty);
        var model = configuration[ModelKey] is { Length: > 0 } configured ? configured : fromIndex ?? "vgg16";
        if (model.Equals("resnet18", StringComparison.OrdinalIgnoreCase))
        {
            services.AddImageSimilarityResNet18();
        }
        else if (model.StartsWith("onnx:", StringComparison.OrdinalIgnoreCase))
        {
            services.AddImageSimilarityOnnxModel(model["onnx:".Length..], new OnnxModelSpec());
        }
        else if (!model.Equals("vgg16", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"{ModelKey} is '{model}': use vgg16, resnet18 or onnx:<file>.");
        }

        return model;
    }

    private static string? RecordedModel(IConfiguration librarySection)
    {
        var indexPath = librarySection["IndexPath"] is { Length: > 0 } configured ? configured : IndexDefaults.DefaultIndexPath;
        if (!File.Exists(indexPath))
        {
            return null;
        }

        try
        {
            // Start-up, before the host exists: the index's header and properties only, no vectors.
            var info = EmbeddedVectorStore.ReadInfoAsync(indexPath).GetAwaiter().GetResult();
            return info.Properties.GetValueOrDefault(ModelProperty);
        }
        catch (IndexFileException)
        {
            return null; // Opening the store reports the problem with the file name.
        }
    }
}
