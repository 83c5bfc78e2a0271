namespace ImageSimilarity.Storage;

/// <summary>One stored vector: an id, the vector and optional string metadata (source path, content hash, timestamps...).</summary>
public sealed class VectorRecord
{
    private static readonly IReadOnlyDictionary<string, string> NoMetadata = new Dictionary<string, string>(0);

    /// <summary>Initializes a new instance of the <see cref="VectorRecord"/> class.</summary>
    /// <param name="id">The unique id, for example the image's relative path.</param>
    /// <param name="vector">The vector. Stores normalise it; it must be finite and not all zero.</param>
    /// <param name="metadata">Optional metadata; keys and values are strings.</param>
    /// <exception cref="ArgumentException"><paramref name="id"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="id"/> is <see langword="null"/>.</exception>
    public VectorRecord(string id, ReadOnlyMemory<float> vector, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        Id = id;
        Vector = vector;
        Metadata = metadata ?? NoMetadata;
    }

    /// <summary>Gets the unique id.</summary>
    public string Id { get; }

    /// <summary>Gets the vector (as stored: unit length when read back from a store).</summary>
    public ReadOnlyMemory<float> Vector { get; }

    /// <summary>Gets the metadata (never <see langword="null"/>).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
}
