namespace ImageSimilarity.Storage;

/// <summary>
/// What an index file written by <see cref="EmbeddedVectorStore.SaveAsync"/> holds, read from its header and
/// metadata section without loading the vectors (for example for an <c>info</c> command).
/// </summary>
public sealed class IndexFileInfo
{
    internal IndexFileInfo(string filePath, long fileSize, int formatVersion, int dimension, VectorPrecision precision, long count, string modelId, DateTimeOffset createdUtc, DateTimeOffset updatedUtc, IReadOnlyDictionary<string, string> properties, bool hasBinaryCodes = false, int? twoStageCandidates = null)
    {
        HasBinaryCodes = hasBinaryCodes;
        TwoStageCandidates = twoStageCandidates;
        FilePath = filePath;
        FileSize = fileSize;
        FormatVersion = formatVersion;
        Dimension = dimension;
        Precision = precision;
        Count = count;
        ModelId = modelId;
        CreatedUtc = createdUtc;
        UpdatedUtc = updatedUtc;
        Properties = properties;
    }

    /// <summary>Gets the full path of the file.</summary>
    public string FilePath { get; }

    /// <summary>Gets the size of the file in bytes.</summary>
    public long FileSize { get; }

    /// <summary>Gets the file format version.</summary>
    public int FormatVersion { get; }

    /// <summary>Gets the vector length.</summary>
    public int Dimension { get; }

    /// <summary>Gets how the vectors are stored.</summary>
    public VectorPrecision Precision { get; }

    /// <summary>Gets the number of records.</summary>
    public long Count { get; }

    /// <summary>Gets the identifier of the model that made the vectors.</summary>
    public string ModelId { get; }

    /// <summary>Gets when the store was created.</summary>
    public DateTimeOffset CreatedUtc { get; }

    /// <summary>Gets when a record was last upserted or deleted before the save.</summary>
    public DateTimeOffset UpdatedUtc { get; }

    /// <summary>Gets the store properties saved with the index.</summary>
    public IReadOnlyDictionary<string, string> Properties { get; }

    /// <summary>
    /// Gets a value indicating whether the index holds binary codes for two-stage search (built by
    /// <see cref="EmbeddedVectorStore.BuildBinaryCodesAsync"/> or <see cref="EmbeddedVectorStore.EnableTwoStageAsync"/>).
    /// </summary>
    public bool HasBinaryCodes { get; }

    /// <summary>
    /// Gets the default candidate count of two-stage search recorded in the index
    /// (<see cref="EmbeddedVectorStore.EnableTwoStageAsync"/>), or <see langword="null"/> when searches are exact by default.
    /// </summary>
    public int? TwoStageCandidates { get; }
}
