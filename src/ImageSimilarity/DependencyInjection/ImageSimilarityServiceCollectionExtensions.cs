using ImageSimilarity;
using ImageSimilarity.Extraction;
using ImageSimilarity.Indexing;
using ImageSimilarity.Search;
using ImageSimilarity.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers ImageSimilarity's extractor, store, indexer and searcher in a dependency-injection container.</summary>
public static class ImageSimilarityServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IFeatureExtractor"/> (VGG16), the embedded store as <see cref="IVectorStore"/>,
    /// <see cref="IPersistentVectorStore"/> and <see cref="EmbeddedVectorStore"/> (opened from or saved to
    /// <see cref="ImageSimilarityOptions.IndexPath"/>), <see cref="FolderIndexer"/> and <see cref="SimilaritySearcher"/>
    /// as singletons, configured by <paramref name="configure"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options; <see langword="null"/> for the defaults.</param>
    /// <returns>The service collection, for chaining.</returns>
    /// <remarks>
    /// <para>The options are validated when the host starts (<c>ValidateOnStart</c>). The model and the index are then
    /// loaded asynchronously by a hosted service, before the first request, and the store is saved when the host stops
    /// (call <see cref="IPersistentVectorStore.SaveChangesAsync"/> to save earlier). Outside a host, await
    /// <see cref="ImageSimilarityServiceProviderExtensions.InitializeImageSimilarityAsync"/> once before resolving the
    /// services.</para>
    /// <para>To use another extractor or store (for example PostgreSQL), register your <see cref="IFeatureExtractor"/> or
    /// <see cref="IVectorStore"/> before calling this method; registrations made earlier are kept.</para>
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
    /// <param name="configuration">The configuration section with the <see cref="ImageSimilarityOptions"/> keys (WeightsPath, Preset, Precision, BatchSize, MaxPixels, ApplyExifOrientation, IndexPath, StorePrecision, VectorsInMemory, AllowDownload).</param>
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
        services.AddOptions<ImageSimilarityOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ImageSimilarityOptions>, ImageSimilarityOptionsValidator>());

        // Registrations made before this call win; the resources load only what is still ours to provide.
        var ownsExtractor = !services.Any(d => d.ServiceType == typeof(IFeatureExtractor));
        var ownsStore = !services.Any(d => d.ServiceType == typeof(IVectorStore));
        services.TryAddSingleton(sp => new ImageSimilarityResources(sp, ownsExtractor, ownsStore));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ImageSimilarityHostedService>());

        services.TryAddSingleton<IFeatureExtractor>(sp => sp.GetRequiredService<ImageSimilarityResources>().Extractor);
        if (ownsStore)
        {
            services.TryAddSingleton(sp => sp.GetRequiredService<ImageSimilarityResources>().Store);
            services.TryAddSingleton<IPersistentVectorStore>(sp => sp.GetRequiredService<EmbeddedVectorStore>());
            services.TryAddSingleton<IVectorStore>(sp => sp.GetRequiredService<EmbeddedVectorStore>());
        }

        services.TryAddSingleton(sp => new FolderIndexer(
            sp.GetRequiredService<IFeatureExtractor>(),
            sp.GetRequiredService<IVectorStore>(),
            sp.GetService<ILogger<FolderIndexer>>()));
        services.TryAddSingleton(sp => new SimilaritySearcher(sp.GetRequiredService<IFeatureExtractor>(), sp.GetRequiredService<IVectorStore>()));
        return services;
    }
}
