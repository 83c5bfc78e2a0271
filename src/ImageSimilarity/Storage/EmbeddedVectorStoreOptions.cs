namespace ImageSimilarity.Storage;

/// <summary>Options of an <see cref="EmbeddedVectorStore"/>.</summary>
/// <remarks>Immutable once built (init-only properties).</remarks>
public sealed class EmbeddedVectorStoreOptions
{
    /// <summary>Gets the default options: single precision, all cores.</summary>
    public static EmbeddedVectorStoreOptions Default { get; } = new();

    /// <summary>Gets how vectors are kept in memory and on disk. Default <see cref="VectorPrecision.Single"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined <see cref="VectorPrecision"/>.</exception>
    public VectorPrecision Precision
    {
        get;
        init
        {
            if (!Enum.IsDefined(value))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "Unknown vector precision.");
            }

            field = value;
        }
    } = VectorPrecision.Single;

    /// <summary>
    /// Gets how many threads one search may use; -1 (the default) for all cores. Small stores are always
    /// searched on the calling thread, where threads would cost more than they save.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is 0 or less than -1.</exception>
    public int MaxDegreeOfParallelism
    {
        get;
        init
        {
            if (value == 0 || value < -1)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "Use -1 for all cores or a positive thread count.");
            }

            field = value;
        }
    } = -1;

    /// <summary>
    /// Gets a value indicating whether the vectors are held in memory (the default). <see langword="false"/> keeps
    /// them only in the index file: memory then holds the ids, metadata, each record's rowid and the binary codes
    /// (<see cref="EmbeddedVectorStore.BuildBinaryCodesAsync"/>), and opening the index does not read the vectors.
    /// </summary>
    /// <remarks>
    /// Only for a store bound to an index file (<see cref="EmbeddedVectorStore.OpenAsync"/>,
    /// <see cref="EmbeddedVectorStore.OpenOrCreateAsync"/>); the store then keeps the file's precision. A two-stage
    /// search reads just its candidates' vectors from the file (each checked against its checksum); an exact search
    /// streams every vector from the file in bounded chunks, which is much slower than from memory (the file is read
    /// once per search, from the operating system's page cache at best). Use it with binary codes and two-stage
    /// search (<see cref="EmbeddedVectorStore.EnableTwoStageAsync"/>) for stores larger than memory.
    /// </remarks>
    public bool VectorsInMemory { get; init; } = true;
}
