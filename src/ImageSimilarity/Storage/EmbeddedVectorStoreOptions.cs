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
}
