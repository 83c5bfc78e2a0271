using ImageSimilarity;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Loads ImageSimilarity's services outside a .NET Generic Host.</summary>
public static class ImageSimilarityServiceProviderExtensions
{
    /// <summary>
    /// Validates the options and loads the extractor (resolving or downloading the weights) and the store (opening the
    /// index file) registered by <c>AddImageSimilarity</c>. A host does this when it starts; call this method instead
    /// in an app without a host (a console program, a test), once, before resolving the services. Later calls do nothing.
    /// </summary>
    /// <param name="services">The service provider built from a collection on which <c>AddImageSimilarity</c> was called.</param>
    /// <param name="cancellationToken">Cancels resolution and download of the weights and opening of the index.</param>
    /// <returns>A task that completes when the services can be resolved.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException"><c>AddImageSimilarity</c> was not called on the collection.</exception>
    /// <exception cref="OptionsValidationException">A setting is invalid; the message lists every one by its configuration key.</exception>
    /// <exception cref="ImageSimilarityException">The weights or the index file cannot be used; the message says why and what to do.</exception>
    public static Task InitializeImageSimilarityAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.GetService<IStartupValidator>()?.Validate();
        var resources = services.GetService<ImageSimilarityResources>()
            ?? throw new InvalidOperationException("Call services.AddImageSimilarity(...) before building the service provider.");
        return resources.InitializeAsync(cancellationToken);
    }
}
