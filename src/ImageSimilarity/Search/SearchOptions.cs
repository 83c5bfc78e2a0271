using ImageSimilarity.Storage;

namespace ImageSimilarity.Search;

/// <summary>What a <see cref="SimilaritySearcher"/> search returns: the store's part (<see cref="Store"/>) and the searcher's own.</summary>
/// <remarks>Immutable once built (init-only properties).</remarks>
public sealed class SearchOptions
{
    /// <summary>The default of <see cref="ExcludeQuerySimilarity"/>.</summary>
    public const float DefaultExcludeQuerySimilarity = 0.9999f;

    /// <summary>Gets the default options: the 10 best matches, no threshold, no filter, the query not excluded.</summary>
    public static SearchOptions Default { get; } = new();

    /// <summary>
    /// Gets what the store is asked for: how many results (<see cref="VectorSearchOptions.Top"/>), a threshold and
    /// filters. Default <see cref="VectorSearchOptions.Default"/>.
    /// </summary>
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

    /// <summary>
    /// Gets a value indicating whether to leave the query image itself out of the results when it is in the
    /// store: results with the same content hash (<see cref="RecordMetadata.Sha256"/>, for image queries) or
    /// a similarity of at least <see cref="ExcludeQuerySimilarity"/>. Default <see langword="false"/>, which keeps the
    /// original recipe's behaviour (its results start with the query).
    /// </summary>
    public bool ExcludeQuery { get; init; }

    /// <summary>
    /// Gets the similarity from which a result counts as the query itself when <see cref="ExcludeQuery"/> is set.
    /// Default 0.9999 (a re-encoded copy of the same image usually scores above 0.99, a different photo below).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside (0, 1] or NaN.</exception>
    public float ExcludeQuerySimilarity
    {
        get;
        init
        {
            if (!(value > 0f && value <= 1f))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "The similarity must be in (0, 1].");
            }

            field = value;
        }
    } = DefaultExcludeQuerySimilarity;
}
