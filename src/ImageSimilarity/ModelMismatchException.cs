using ImageSimilarity.Extraction;
using ImageSimilarity.Storage;

namespace ImageSimilarity;

/// <summary>
/// A store holds vectors of another model or length than the ones about to be added or searched. Vectors of
/// different models are not comparable, so mixing them would give meaningless rankings.
/// </summary>
/// <remarks>
/// Every place that pairs an extractor (or a model id) with a store checks through
/// <see cref="ThrowIfIncompatible(IFeatureExtractor, IVectorStore)"/>, so the rule and the message are the same everywhere.
/// </remarks>
public sealed class ModelMismatchException : ImageSimilarityException
{
    /// <summary>Initializes a new instance of the <see cref="ModelMismatchException"/> class.</summary>
    public ModelMismatchException()
        : base("The vectors do not fit the store: they come from another model or have another length.")
    {
        StoredModelId = RequestedModelId = string.Empty;
    }

    /// <summary>Initializes a new instance of the <see cref="ModelMismatchException"/> class.</summary>
    /// <param name="message">The message.</param>
    public ModelMismatchException(string message)
        : base(message)
    {
        StoredModelId = RequestedModelId = string.Empty;
    }

    /// <summary>Initializes a new instance of the <see cref="ModelMismatchException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ModelMismatchException(string message, Exception? innerException)
        : base(message, innerException)
    {
        StoredModelId = RequestedModelId = string.Empty;
    }

    private ModelMismatchException(string storedModelId, int storedDimension, string requestedModelId, int requestedDimension, string? location)
        : base(Format(storedModelId, storedDimension, requestedModelId, requestedDimension, location))
    {
        StoredModelId = storedModelId;
        StoredDimension = storedDimension;
        RequestedModelId = requestedModelId;
        RequestedDimension = requestedDimension;
        Location = location;
    }

    /// <summary>Gets the model id of the vectors the store holds (empty when not known).</summary>
    public string StoredModelId { get; }

    /// <summary>Gets the vector length the store holds (0 when not known).</summary>
    public int StoredDimension { get; }

    /// <summary>Gets the model id of the extractor or of the vectors that were offered (empty when not known).</summary>
    public string RequestedModelId { get; }

    /// <summary>Gets the vector length of the extractor or of the vectors that were offered (0 when not known).</summary>
    public int RequestedDimension { get; }

    /// <summary>Gets the index file or other location of the store, when known.</summary>
    public string? Location { get; }

    /// <summary>Throws when <paramref name="store"/> holds vectors of another model or length than <paramref name="extractor"/> makes.</summary>
    /// <param name="extractor">The extractor.</param>
    /// <param name="store">The store.</param>
    /// <exception cref="ArgumentNullException"><paramref name="extractor"/> or <paramref name="store"/> is <see langword="null"/>.</exception>
    /// <exception cref="ModelMismatchException">The model ids (compared ordinally) or the vector lengths differ.</exception>
    public static void ThrowIfIncompatible(IFeatureExtractor extractor, IVectorStore store)
    {
        ArgumentNullException.ThrowIfNull(extractor);
        ArgumentNullException.ThrowIfNull(store);
        var location = store is EmbeddedVectorStore embedded ? embedded.FilePath : null;
        ThrowIfIncompatible(store.ModelId, store.Dimension, extractor.ModelId, extractor.Dimension, location);
    }

    /// <summary>The one compatibility rule: the same model id (ordinal) and the same vector length.</summary>
    internal static void ThrowIfIncompatible(string storedModelId, int storedDimension, string requestedModelId, int requestedDimension, string? location)
    {
        if (storedDimension != requestedDimension || !string.Equals(storedModelId, requestedModelId, StringComparison.Ordinal))
        {
            throw new ModelMismatchException(storedModelId, storedDimension, requestedModelId, requestedDimension, location);
        }
    }

    private static string Format(string storedModelId, int storedDimension, string requestedModelId, int requestedDimension, string? location)
    {
        var where = location is null ? "The store" : $"The index '{location}'";
        return $"{where} holds {storedDimension}-float vectors of model '{storedModelId}', but the extractor makes {requestedDimension}-float vectors "
            + $"of model '{requestedModelId}'; vectors of different models are not comparable. Use the extractor settings (weights, preset) "
            + "the index was built with, or another index for this model.";
    }
}
