using ImageSimilarity.Storage;

namespace ImageSimilarity.PgVector;

/// <summary>A search of a <see cref="PgVectorStore"/>: the store-independent part (<see cref="Store"/>) and the choice between exact and approximate search.</summary>
/// <remarks>Immutable once built (init-only properties), so one instance can be reused by concurrent searches.</remarks>
public sealed class PgVectorSearchOptions
{
    /// <summary>Gets the default options: exact search, <see cref="VectorSearchOptions.Default"/>.</summary>
    public static PgVectorSearchOptions Default { get; } = new();

    /// <summary>Gets how many results, threshold and filters. Default <see cref="VectorSearchOptions.Default"/>.</summary>
    /// <exception cref="ArgumentNullException">The value is <see langword="null"/>.</exception>
    public VectorSearchOptions Store
    {
        get;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            field = value;
        }
    } = VectorSearchOptions.Default;

    /// <summary>Gets how the store searches. Default <see cref="PgVectorSearchMode.Exact"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined mode.</exception>
    public PgVectorSearchMode Mode
    {
        get;
        init
        {
            if (!Enum.IsDefined(value))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "Use PgVectorSearchMode.Exact or PgVectorSearchMode.Approximate.");
            }

            field = value;
        }
    }

    /// <summary>
    /// Gets how many candidates the approximate index proposes for exact re-ranking (and its <c>hnsw.ef_search</c>,
    /// at most 1,000). More candidates: better recall, slower. Default 200. Raised to <see cref="VectorSearchOptions.Top"/> when smaller.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside 1 to 10,000.</exception>
    public int Candidates
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 10_000);
            field = value;
        }
    } = 200;
}
