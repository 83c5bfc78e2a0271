using ImageSimilarity.Storage;

namespace ImageSimilarity.PgVector;

/// <summary><see cref="VectorSearchOptions"/> plus the choice between exact and approximate search in PostgreSQL.</summary>
public sealed class PgVectorSearchOptions : VectorSearchOptions
{
    private int _candidates = 200;

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
        get => _candidates;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 10_000);
            _candidates = value;
        }
    }
}
