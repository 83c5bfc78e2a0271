using ImageSimilarity;
using ImageSimilarity.Extraction;
using ImageSimilarity.OnnxRuntime;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers an ONNX Runtime model as the <see cref="IFeatureExtractor"/> of <c>AddImageSimilarity</c>.</summary>
/// <remarks>
/// Call these before <c>AddImageSimilarity</c>: its registrations then use this extractor (and size the store by it)
/// instead of loading VGG16. The extractor is a singleton loaded on first use and disposed with the container.
/// </remarks>
public static class OnnxRuntimeServiceCollectionExtensions
{
    /// <summary>Registers the built-in pretrained ResNet18 (512 floats per image, no download).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="options">Batch size, threads, decoding; <see langword="null"/> for the defaults.</param>
    /// <returns>The service collection, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException"><c>AddImageSimilarity</c> was called first, or another extractor is registered.</exception>
    public static IServiceCollection AddImageSimilarityResNet18(this IServiceCollection services, OnnxExtractorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        return AddExtractor(services, _ => ResNet18Model.Load(options));
    }

    /// <summary>Registers an ONNX image model of your own.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="modelPath">The .onnx file.</param>
    /// <param name="spec">How images become the model's input and its output a vector.</param>
    /// <param name="options">Batch size, threads, decoding; <see langword="null"/> for the defaults.</param>
    /// <returns>The service collection, for chaining.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="modelPath"/> is empty or <paramref name="spec"/> is not valid.</exception>
    /// <exception cref="InvalidOperationException"><c>AddImageSimilarity</c> was called first, or another extractor is registered.</exception>
    public static IServiceCollection AddImageSimilarityOnnxModel(this IServiceCollection services, string modelPath, OnnxModelSpec spec, OnnxExtractorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        return AddExtractor(services, _ => OnnxFeatureExtractor.Load(modelPath, spec, options));
    }

    private static IServiceCollection AddExtractor(IServiceCollection services, Func<IServiceProvider, OnnxFeatureExtractor> factory)
    {
        if (services.Any(d => d.ServiceType == typeof(ImageSimilarityResources)))
        {
            throw new InvalidOperationException("Register the ONNX model before calling AddImageSimilarity; otherwise AddImageSimilarity has already chosen to load VGG16.");
        }

        if (services.Any(d => d.ServiceType == typeof(IFeatureExtractor)))
        {
            throw new InvalidOperationException("An IFeatureExtractor is already registered; register one model only.");
        }

        services.TryAddSingleton(factory);
        services.TryAddSingleton<IFeatureExtractor>(sp => sp.GetRequiredService<OnnxFeatureExtractor>());
        return services;
    }
}
