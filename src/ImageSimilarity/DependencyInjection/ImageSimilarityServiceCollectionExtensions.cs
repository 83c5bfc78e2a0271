using ImageSimilarity;
using ImageSimilarity.Extraction;
using ImageSimilarity.Indexing;
using ImageSimilarity.Search;
using ImageSimilarity.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers ImageSimilarity's extractor, store, indexer and searcher in a dependency-injection container.</summary>
public static class ImageSimilarityServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IFeatureExtractor"/> (VGG16), <see cref="IVectorStore"/> (the embedded store, opened from or
    /// saved to <see cref="ImageSimilarityOptions.IndexPath"/>), <see cref="FolderIndexer"/> and <see cref="SimilaritySearcher"/>
    /// as singletons, configured by <paramref name="configure"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options; <see langword="null"/> for the defaults.</param>
    /// <returns>The service collection, for chaining.</returns>
    /// <remarks>
    /// The model and the index are loaded on first use (loading the 528 MB weights takes a few seconds), blocking the
    /// resolving thread; resolve <see cref="SimilaritySearcher"/> at start-up to pay that cost before the first request.
    /// To use another extractor or store (for example PostgreSQL), register your <see cref="IFeatureExtractor"/> or
    /// <see cref="IVectorStore"/> before calling this method; registrations made earlier are kept.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    public static IServiceCollection AddImageSimilarity(this IServiceCollection services, Action<ImageSimilarityOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddOptions<ImageSimilarityOptions>();
        if (configure is not null)
        {
            builder.Configure(configure);
        }

        return AddServices(services);
    }

    /// <summary>Registers ImageSimilarity's services with options bound from <paramref name="configuration"/> (for example <c>builder.Configuration.GetSection("ImageSimilarity")</c>).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The configuration section with WeightsPath, Preset, Precision, BatchSize, IndexPath, StorePrecision, AllowDownload.</param>
    /// <returns>The service collection, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="configuration"/> is <see langword="null"/>.</exception>
    public static IServiceCollection AddImageSimilarity(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<ImageSimilarityOptions>().Bind(configuration);
        return AddServices(services);
    }

    private static IServiceCollection AddServices(IServiceCollection services)
    {
        services.TryAddSingleton<IFeatureExtractor>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<ImageSimilarityOptions>>().Value;
            options.Validate();
            var extractorOptions = new Vgg16ExtractorOptions
            {
                WeightsPath = options.WeightsPath,
                Preset = options.Preset,
                Precision = options.Precision,
                BatchSize = options.BatchSize,
                Download = new WeightsDownloadOptions { AllowDownload = options.AllowDownload },
            };
            return Vgg16FeatureExtractor.CreateAsync(extractorOptions).GetAwaiter().GetResult();
        });

        services.TryAddSingleton<IVectorStore>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<ImageSimilarityOptions>>().Value;
            var extractor = sp.GetRequiredService<IFeatureExtractor>();
            var storeOptions = new EmbeddedVectorStoreOptions { Precision = options.StorePrecision };
            return options.IndexPath is { Length: > 0 } path
                ? EmbeddedVectorStore.OpenOrCreateAsync(path, extractor.Dimension, extractor.ModelId, storeOptions).GetAwaiter().GetResult()
                : EmbeddedVectorStore.Create(extractor.Dimension, extractor.ModelId, storeOptions);
        });

        services.TryAddSingleton(sp => new FolderIndexer(
            sp.GetRequiredService<IFeatureExtractor>(),
            sp.GetRequiredService<IVectorStore>(),
            sp.GetService<ILogger<FolderIndexer>>()));
        services.TryAddSingleton(sp => new SimilaritySearcher(sp.GetRequiredService<IFeatureExtractor>(), sp.GetRequiredService<IVectorStore>()));
        return services;
    }
}
