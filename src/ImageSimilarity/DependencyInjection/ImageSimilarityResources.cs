using ImageSimilarity.Extraction;
using ImageSimilarity.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ImageSimilarity;

/// <summary>
/// The extractor and store that <c>AddImageSimilarity</c> registers, loaded asynchronously once (at host start, or by
/// <c>InitializeImageSimilarityAsync</c>) so that no service factory blocks on I/O. It owns and disposes them.
/// </summary>
internal sealed class ImageSimilarityResources(IServiceProvider services, bool ownsExtractor, bool ownsStore) : IAsyncDisposable, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Vgg16FeatureExtractor? _extractor;
    private EmbeddedVectorStore? _store;
    private volatile bool _initialized;
    private volatile bool _disposed;

    public Vgg16FeatureExtractor Extractor => _extractor ?? throw NotInitialized(nameof(IFeatureExtractor));

    public EmbeddedVectorStore Store => _store ?? throw NotInitialized(nameof(IVectorStore));

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (_initialized)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_initialized)
            {
                return;
            }

            // Reading Value runs the validator: a wrong setting fails here with every problem listed.
            var options = services.GetRequiredService<IOptions<ImageSimilarityOptions>>().Value;
            if (ownsExtractor)
            {
                _extractor = await Vgg16FeatureExtractor.CreateAsync(options.ToExtractorOptions(), progress: null, cancellationToken).ConfigureAwait(false);
            }

            if (ownsStore)
            {
                var extractor = services.GetRequiredService<IFeatureExtractor>();
                _store = options.IndexPath is { Length: > 0 } path
                    ? await EmbeddedVectorStore.OpenOrCreateAsync(path, extractor.Dimension, extractor.ModelId, options.ToStoreOptions(), cancellationToken).ConfigureAwait(false)
                    : EmbeddedVectorStore.Create(extractor.Dimension, extractor.ModelId, options.ToStoreOptions());
            }

            _initialized = true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Saves the registered store's changes (at host stop), when it has an index file. Nothing to do once disposed:
    /// a host stopped twice (WebApplicationFactory stops it while Program's own Run does) may call this after the
    /// container disposed the store, and every write of the store was already committed when it returned.
    /// </summary>
    /// <remarks>The two stops can also overlap: the container may dispose the store while this save waits for it,
    /// which then ends quietly for the same reason.</remarks>
    public async Task SaveAsync(CancellationToken cancellationToken)
    {
        if (_disposed || _store is not { } store)
        {
            return;
        }

        try
        {
            await store.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectDisposedException) when (_disposed)
        {
            // Disposed by the other stop meanwhile; every write was committed when it returned.
        }
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        if (_store is { } store)
        {
            await store.DisposeAsync().ConfigureAwait(false);
        }

        if (_extractor is { } extractor)
        {
            await extractor.DisposeAsync().ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _store?.Dispose();
        _extractor?.Dispose();
    }

    private static InvalidOperationException NotInitialized(string service) => new(
        $"ImageSimilarity's {service} is loaded asynchronously at start-up and is not loaded yet. In a .NET Generic Host "
        + "(ASP.NET Core, worker services) it is loaded when the host starts; elsewhere, await "
        + "serviceProvider.InitializeImageSimilarityAsync() once before resolving ImageSimilarity's services.");
}
