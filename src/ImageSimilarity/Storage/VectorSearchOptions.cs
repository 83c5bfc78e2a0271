namespace ImageSimilarity.Storage;

/// <summary>What a vector search returns.</summary>
/// <remarks>Not sealed: <see cref="Search.SearchOptions"/> extends it with the searcher's own options.</remarks>
public class VectorSearchOptions
{
    private int _top = 10;
    private float? _minSimilarity;

    /// <summary>Gets the default options: the 10 best matches, no threshold, no filter.</summary>
    public static VectorSearchOptions Default { get; } = new();

    /// <summary>Gets or sets how many results at most. Default 10.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero or negative.</exception>
    public int Top
    {
        get => _top;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _top = value;
        }
    }

    /// <summary>Gets or sets the smallest cosine similarity (-1 to 1) a result may have; <see langword="null"/> for none.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside [-1, 1] or NaN.</exception>
    public float? MinSimilarity
    {
        get => _minSimilarity;
        set
        {
            if (value is { } v && !(v >= -1f && v <= 1f))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "The minimum similarity must be between -1 and 1.");
            }

            _minSimilarity = value;
        }
    }

    /// <summary>
    /// Gets or sets a metadata filter: only records whose metadata holds every one of these key/value pairs
    /// are considered. <see langword="null"/> for none. Database-backed stores run it in the database.
    /// </summary>
    public IReadOnlyDictionary<string, string>? MetadataEquals { get; set; }

    /// <summary>Gets or sets ids to leave out of the results (for example the query image itself).</summary>
    public IReadOnlySet<string>? ExcludeIds { get; set; }
}
