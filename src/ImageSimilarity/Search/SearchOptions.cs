using ImageSimilarity.Storage;

namespace ImageSimilarity.Search;

/// <summary>What a <see cref="SimilaritySearcher"/> search returns.</summary>
public sealed class SearchOptions : VectorSearchOptions
{
    private float _excludeQuerySimilarity = 0.9999f;

    /// <summary>Gets the default options: the 10 best matches, no threshold, no filter, the query not excluded.</summary>
    public static new SearchOptions Default { get; } = new();

    /// <summary>
    /// Gets or sets a value indicating whether to leave the query image itself out of the results when it is in the
    /// store: results with the same content hash (<see cref="RecordMetadata.Sha256"/>, for image queries) or
    /// a similarity of at least <see cref="ExcludeQuerySimilarity"/>. Default <see langword="false"/>, which keeps the
    /// original recipe's behaviour (its results start with the query).
    /// </summary>
    public bool ExcludeQuery { get; set; }

    /// <summary>
    /// Gets or sets the similarity from which a result counts as the query itself when <see cref="ExcludeQuery"/> is
    /// set. Default 0.9999 (a re-encoded copy of the same image usually scores above 0.99, a different photo below).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside (0, 1] or NaN.</exception>
    public float ExcludeQuerySimilarity
    {
        get => _excludeQuerySimilarity;
        set
        {
            if (!(value > 0f && value <= 1f))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "The similarity must be in (0, 1].");
            }

            _excludeQuerySimilarity = value;
        }
    }

    internal VectorSearchOptions ToStoreOptions(int top) => new()
    {
        Top = top,
        MinSimilarity = MinSimilarity,
        MetadataEquals = MetadataEquals,
        ExcludeIds = ExcludeIds,
    };
}
