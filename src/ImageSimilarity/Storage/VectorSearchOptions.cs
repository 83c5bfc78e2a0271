namespace ImageSimilarity.Storage;

/// <summary>What a vector search returns: how many results, a threshold and filters.</summary>
/// <remarks>
/// Immutable once built (init-only properties; the filter collections are copied when set), so one instance can be
/// reused by concurrent searches. <see cref="Search.SearchOptions"/> holds one of these for the store's part.
/// </remarks>
public sealed class VectorSearchOptions
{
    /// <summary>The default of <see cref="Top"/>.</summary>
    public const int DefaultTop = 10;

    /// <summary>Gets the default options: the 10 best matches, no threshold, no filter.</summary>
    public static VectorSearchOptions Default { get; } = new();

    /// <summary>Gets how many results at most. Default <see cref="DefaultTop"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero or negative.</exception>
    public int Top
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            field = value;
        }
    } = DefaultTop;

    /// <summary>Gets the smallest cosine similarity (-1 to 1) a result may have; <see langword="null"/> for none.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside [-1, 1] or NaN.</exception>
    public float? MinSimilarity
    {
        get;
        init
        {
            if (value is { } v && !(v >= -1f && v <= 1f))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "The minimum similarity must be between -1 and 1.");
            }

            field = value;
        }
    }

    /// <summary>
    /// Gets a metadata filter: only records whose metadata holds every one of these key/value pairs are considered.
    /// <see langword="null"/> for none. Database-backed stores run it in the database.
    /// </summary>
    public IReadOnlyDictionary<string, string>? MetadataEquals
    {
        get;
        init => field = value is null ? null : new Dictionary<string, string>(value, StringComparer.Ordinal).AsReadOnly();
    }

    /// <summary>Gets ids to leave out of the results (for example the query image itself).</summary>
    public IReadOnlySet<string>? ExcludeIds
    {
        get;
        init => field = value is null ? null : new System.Collections.ObjectModel.ReadOnlySet<string>(new HashSet<string>(value, StringComparer.Ordinal));
    }

    /// <summary>
    /// Gets how many candidates a two-stage search takes from the binary codes before it re-ranks them exactly;
    /// <see langword="null"/> (the default) for the store's default: <see cref="EmbeddedVectorStore.TwoStageCandidates"/>
    /// when two-stage search is enabled for the index, otherwise an exact search over every vector.
    /// </summary>
    /// <remarks>
    /// Used by an <see cref="EmbeddedVectorStore"/> whose binary codes are built
    /// (<see cref="EmbeddedVectorStore.BuildBinaryCodesAsync"/>): it picks the <c>Candidates</c> records whose codes are
    /// nearest the query's (Hamming distance), then scores only those with their stored vectors. A value below
    /// <see cref="Top"/> counts as <see cref="Top"/>. Stores without binary codes, and other stores, search exactly.
    /// A few hundred candidates gave recall@10 of 0.99 or more on real ResNet18 features (docs/storage.md).
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero or negative.</exception>
    /// <exception cref="ArgumentException"><see cref="Exact"/> is set too.</exception>
    public int? Candidates
    {
        get;
        init
        {
            if (value is { } v)
            {
                ArgumentOutOfRangeException.ThrowIfNegativeOrZero(v, nameof(value));
                if (Exact)
                {
                    throw new ArgumentException("Set either Candidates (a two-stage search) or Exact (an exact search), not both.", nameof(value));
                }
            }

            field = value;
        }
    }

    /// <summary>
    /// Gets a value indicating whether this search is exact (every vector scored) even when the store searches in two
    /// stages by default (<see cref="EmbeddedVectorStore.TwoStageCandidates"/>). Default <see langword="false"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><see cref="Candidates"/> is set too.</exception>
    public bool Exact
    {
        get;
        init
        {
            if (value && Candidates is not null)
            {
                throw new ArgumentException("Set either Candidates (a two-stage search) or Exact (an exact search), not both.", nameof(value));
            }

            field = value;
        }
    }

    /// <summary>Returns a copy with another <see cref="Top"/>.</summary>
    internal VectorSearchOptions WithTop(int top) => new()
    {
        Top = top,
        MinSimilarity = MinSimilarity,
        MetadataEquals = MetadataEquals,
        ExcludeIds = ExcludeIds,
        Candidates = Candidates,
        Exact = Exact,
    };
}
