using System.Security.Cryptography;
using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;
using ImageSimilarity.Storage;

namespace ImageSimilarity.Search;

/// <summary>
/// Reverse image search: adds images to a vector store and finds the stored images that look most like a query
/// image, ranked by the cosine similarity of their feature vectors.
/// </summary>
/// <remarks>
/// The searcher ties one <see cref="IFeatureExtractor"/> to one <see cref="IVectorStore"/> and checks that they
/// agree on the model and vector length. It owns neither: dispose them yourself. It is safe for concurrent use when
/// the extractor and the store are (the built-in ones are).
/// </remarks>
public sealed class SimilaritySearcher
{
    // How many images AddRangeAsync hands the extractor per call (and stores, and reports progress for); the
    // extractor cuts each call into its own batches.
    private const int AddChunk = 16;

    /// <summary>Initializes a new instance of the <see cref="SimilaritySearcher"/> class.</summary>
    /// <param name="extractor">Turns images into vectors.</param>
    /// <param name="store">Keeps and searches the vectors.</param>
    /// <exception cref="ArgumentNullException"><paramref name="extractor"/> or <paramref name="store"/> is <see langword="null"/>.</exception>
    /// <exception cref="ModelMismatchException">The store holds vectors of another model or length.</exception>
    public SimilaritySearcher(IFeatureExtractor extractor, IVectorStore store)
    {
        ModelMismatchException.ThrowIfIncompatible(extractor, store);

        Extractor = extractor;
        Store = store;
    }

    /// <summary>Gets the feature extractor.</summary>
    public IFeatureExtractor Extractor { get; }

    /// <summary>Gets the vector store.</summary>
    public IVectorStore Store { get; }

    /// <summary>Adds an image, or replaces the one with the same id.</summary>
    /// <param name="id">The unique id, for example the image's path relative to the collection root.</param>
    /// <param name="image">The image.</param>
    /// <param name="metadata">Extra metadata; the searcher adds <see cref="RecordMetadata.Path"/>, <see cref="RecordMetadata.Sha256"/> and <see cref="RecordMetadata.IndexedUtc"/>.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the image is stored.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="id"/> or <paramref name="image"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty.</exception>
    /// <exception cref="ImageDecodeException">The image cannot be read or decoded.</exception>
    public Task AddAsync(string id, ImageInput image, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentNullException.ThrowIfNull(image);
        return AddRangeAsync([new ImageEntry(id, image, metadata)], progress: null, cancellationToken);
    }

    /// <summary>Adds images in batches (the extractor runs a batch at a time), replacing those with the same ids.</summary>
    /// <param name="images">The images.</param>
    /// <param name="progress">Receives the number of images stored so far after each batch; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the work between batches; batches already stored stay stored.</param>
    /// <returns>The number of images added.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="images"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An entry is <see langword="null"/> or has an empty id.</exception>
    /// <exception cref="ImageDecodeException">An image cannot be read or decoded; the message names it. Earlier batches stay stored.</exception>
    public async Task<int> AddRangeAsync(IEnumerable<ImageEntry> images, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        var batch = new List<ImageEntry>(AddChunk);
        var added = 0;
        foreach (var entry in images)
        {
            if (entry is null || string.IsNullOrEmpty(entry.Id) || entry.Image is null)
            {
                throw new ArgumentException("Every entry needs an id and an image.", nameof(images));
            }

            batch.Add(entry);
            if (batch.Count == AddChunk)
            {
                added += await AddBatchAsync(batch, cancellationToken).ConfigureAwait(false);
                progress?.Report(added);
                batch.Clear();
            }
        }

        if (batch.Count > 0)
        {
            added += await AddBatchAsync(batch, cancellationToken).ConfigureAwait(false);
            progress?.Report(added);
        }

        return added;
    }

    /// <summary>Finds the stored images that look most like <paramref name="query"/>, best first.</summary>
    /// <param name="query">The query image.</param>
    /// <param name="options">How many results, threshold, filter and whether to leave the query out; <see langword="null"/> for <see cref="SearchOptions.Default"/>.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The results (id, cosine similarity, metadata) by descending similarity.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="query"/> is <see langword="null"/>.</exception>
    /// <exception cref="ImageDecodeException">The image cannot be read or decoded.</exception>
    public async Task<IReadOnlyList<VectorSearchResult>> SearchAsync(ImageInput query, SearchOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        options ??= SearchOptions.Default;
        var bytes = await query.ReadAllAsync(MaxFileSize, cancellationToken).ConfigureAwait(false);
        var hash = options.ExcludeQuery ? Hash(bytes.Span) : null;
        var vectors = await FeatureExtraction.ExtractAsync(Extractor, [ImageInput.FromBytes(bytes, query.Name)], cancellationToken).ConfigureAwait(false);
        return await SearchCoreAsync(vectors[0], options, hash, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Finds the stored images whose vectors are most similar to <paramref name="query"/>, best first.</summary>
    /// <param name="query">A vector from <see cref="Extractor"/> (it need not be normalised).</param>
    /// <param name="options">How many results, threshold, filter and whether to leave the query out (by similarity); <see langword="null"/> for <see cref="SearchOptions.Default"/>.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The results (id, cosine similarity, metadata) by descending similarity.</returns>
    /// <exception cref="ArgumentException">The vector has the wrong length, a NaN/infinite value, or is all zero.</exception>
    public Task<IReadOnlyList<VectorSearchResult>> SearchAsync(ReadOnlyMemory<float> query, SearchOptions? options = null, CancellationToken cancellationToken = default)
        => SearchCoreAsync(query, options ?? SearchOptions.Default, null, cancellationToken);

    /// <summary>Gets the largest image read: the extractor's decoder limit when it preprocesses apart, else the default.</summary>
    private long MaxFileSize => (Extractor as IPreprocessingFeatureExtractor)?.Preprocessor.DecoderOptions.MaxFileSize ?? ImageDecoderOptions.DefaultMaxFileSize;

    private static string Hash(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private async Task<IReadOnlyList<VectorSearchResult>> SearchCoreAsync(ReadOnlyMemory<float> query, SearchOptions options, string? queryHash, CancellationToken cancellationToken)
    {
        if (!options.ExcludeQuery)
        {
            return await Store.SearchAsync(query, options.Store, cancellationToken).ConfigureAwait(false);
        }

        // Ask for a few more than wanted to make up for the copies of the query left out; widen if that was not enough.
        var top = options.Store.Top;
        var extra = 4;
        while (true)
        {
            var requested = (int)Math.Min(int.MaxValue, (long)top + extra);
            var raw = await Store.SearchAsync(query, options.Store.WithTop(requested), cancellationToken).ConfigureAwait(false);
            var kept = new List<VectorSearchResult>(Math.Min(top, raw.Count));
            foreach (var result in raw)
            {
                var isQuery = result.Similarity >= options.ExcludeQuerySimilarity
                    || (queryHash is not null && result.Metadata.TryGetValue(RecordMetadata.Sha256, out var h) && string.Equals(h, queryHash, StringComparison.Ordinal));
                if (!isQuery)
                {
                    kept.Add(result);
                    if (kept.Count == top)
                    {
                        return kept;
                    }
                }
            }

            if (raw.Count < requested || requested == int.MaxValue)
            {
                return kept;
            }

            extra = (int)Math.Min(int.MaxValue / 2, extra * 4L);
        }
    }

    private async Task<int> AddBatchAsync(List<ImageEntry> batch, CancellationToken cancellationToken)
    {
        // Read each image once: the bytes give the content hash and are what the extractor decodes, so a stream is
        // consumed only once.
        var inputs = new ImageInput[batch.Count];
        var metadata = new Dictionary<string, string>[batch.Count];
        var added = DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 0; i < batch.Count; i++)
        {
            var image = batch[i].Image;
            var bytes = await image.ReadAllAsync(MaxFileSize, cancellationToken).ConfigureAwait(false);
            inputs[i] = ImageInput.FromBytes(bytes, image.Name);
            var m = batch[i].Metadata is { } extra
                ? new Dictionary<string, string>(extra, StringComparer.Ordinal)
                : new Dictionary<string, string>(3, StringComparer.Ordinal);
            m[RecordMetadata.Path] = image.FilePath ?? image.Name;
            m[RecordMetadata.Sha256] = Hash(bytes.Span);
            m[RecordMetadata.IndexedUtc] = added;
            metadata[i] = m;
        }

        var vectors = await FeatureExtraction.ExtractAsync(Extractor, inputs, cancellationToken).ConfigureAwait(false);
        var records = new VectorRecord[batch.Count];
        for (var i = 0; i < records.Length; i++)
        {
            records[i] = new VectorRecord(batch[i].Id, vectors[i], metadata[i]);
        }

        await Store.UpsertAsync(records, cancellationToken).ConfigureAwait(false);
        return records.Length;
    }
}
