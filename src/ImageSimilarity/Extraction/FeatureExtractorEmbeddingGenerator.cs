using ImageSimilarity.Imaging;
using Microsoft.Extensions.AI;

namespace ImageSimilarity.Extraction;

/// <summary>
/// An <see cref="IFeatureExtractor"/> seen as a .NET AI embedding generator: images in (<see cref="DataContent"/> with
/// an image media type, or any bytes the decoder recognises), <see cref="Embedding{T}"/> of floats out, usable
/// wherever .NET code expects an <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> (vector data stores, caches,
/// pipelines built on Microsoft.Extensions.AI).
/// </summary>
/// <remarks>
/// <para>Each embedding carries the extractor's <see cref="IFeatureExtractor.ModelId"/>; its vector is the extractor's,
/// unnormalised (compare with cosine similarity).</para>
/// <para>Thread-safety is the extractor's. Disposing the generator disposes the extractor only when
/// <c>ownsExtractor</c> was <see langword="true"/>.</para>
/// </remarks>
public sealed class FeatureExtractorEmbeddingGenerator : IEmbeddingGenerator<DataContent, Embedding<float>>
{
    private readonly bool _ownsExtractor;

    /// <summary>Initializes a new instance of the <see cref="FeatureExtractorEmbeddingGenerator"/> class.</summary>
    /// <param name="extractor">The extractor that computes the vectors.</param>
    /// <param name="ownsExtractor">Whether disposing the generator disposes <paramref name="extractor"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="extractor"/> is <see langword="null"/>.</exception>
    public FeatureExtractorEmbeddingGenerator(IFeatureExtractor extractor, bool ownsExtractor = false)
    {
        ArgumentNullException.ThrowIfNull(extractor);
        Extractor = extractor;
        _ownsExtractor = ownsExtractor;
        Metadata = new EmbeddingGeneratorMetadata("ImageSimilarity", null, extractor.ModelId, extractor.Dimension);
    }

    /// <summary>Gets the extractor that computes the vectors.</summary>
    public IFeatureExtractor Extractor { get; }

    /// <summary>Gets the provider name ("ImageSimilarity"), the model id and the dimension.</summary>
    public EmbeddingGeneratorMetadata Metadata { get; }

    /// <summary>Computes one embedding per image, in order.</summary>
    /// <param name="values">The images as data contents (bytes; media type <c>image/*</c> or <c>application/octet-stream</c>).</param>
    /// <param name="options">Ignored except <see cref="EmbeddingGenerationOptions.Dimensions"/>, which must be <see langword="null"/> or the extractor's dimension.</param>
    /// <param name="cancellationToken">Cancels the work between batches.</param>
    /// <returns>The embeddings.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="values"/> or an item is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An item is not an image with data, or another dimension was asked for.</exception>
    /// <exception cref="ImageDecodeException">An image cannot be decoded; the message names it.</exception>
    /// <exception cref="OperationCanceledException">The operation was cancelled.</exception>
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<DataContent> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (options?.Dimensions is { } dimensions && dimensions != Extractor.Dimension)
        {
            throw new ArgumentException($"The model '{Extractor.ModelId}' makes {Extractor.Dimension}-dimensional embeddings; {dimensions} were asked for.", nameof(options));
        }

        var images = new List<ImageInput>();
        var index = 0;
        foreach (var value in values)
        {
            ArgumentNullException.ThrowIfNull(value, nameof(values));
            var name = value.Name ?? $"image {index}";
            if (value.Data.IsEmpty)
            {
                throw new ArgumentException($"Item {index} ('{name}') holds no data; pass the image bytes.", nameof(values));
            }

            if (!value.HasTopLevelMediaType("image") && !string.Equals(value.MediaType, "application/octet-stream", StringComparison.OrdinalIgnoreCase))
            {
                throw new ArgumentException($"Item {index} ('{name}') has media type '{value.MediaType}'; an image (image/*) is expected.", nameof(values));
            }

            images.Add(ImageInput.FromBytes(value.Data, name));
            index++;
        }

        var vectors = await Extractor.ExtractAsync(images, cancellationToken).ConfigureAwait(false);
        var created = DateTimeOffset.UtcNow;
        var result = new GeneratedEmbeddings<Embedding<float>>(vectors.Count);
        foreach (var vector in vectors)
        {
            result.Add(new Embedding<float>(vector) { ModelId = Extractor.ModelId, CreatedAt = created });
        }

        return result;
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        if (serviceType == typeof(EmbeddingGeneratorMetadata))
        {
            return Metadata;
        }

        if (serviceType.IsInstanceOfType(Extractor))
        {
            return Extractor;
        }

        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_ownsExtractor)
        {
            Extractor.Dispose();
        }
    }
}
