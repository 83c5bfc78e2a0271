using System.Text.RegularExpressions;
using ImageSimilarity.Storage;

namespace ImageSimilarity.PgVector;

/// <summary>How a <see cref="PgVectorStore"/> names and keeps its table.</summary>
public sealed partial class PgVectorStoreOptions
{
    /// <summary>Gets the default options: table <c>image_vectors</c>, fp32 vectors, 30 s command timeout.</summary>
    public static PgVectorStoreOptions Default { get; } = new();

    /// <summary>
    /// Gets the table that holds the vectors. Default <c>image_vectors</c>. One database holds several indexes under
    /// different names. Lowercase letters, digits and underscores, starting with a letter or underscore, at most 48
    /// characters (the store adds suffixes for its indexes and job tables).
    /// </summary>
    /// <exception cref="ArgumentException">The name is not a valid table name.</exception>
    public string TableName
    {
        get;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            if (!TableNamePattern().IsMatch(value))
            {
                throw new ArgumentException($"'{value}' is not a valid table name: use lowercase letters, digits and underscores, starting with a letter or underscore, at most 48 characters.", nameof(value));
            }

            field = value;
        }
    }

    = "image_vectors";

    /// <summary>
    /// Gets how a new table keeps vectors: <see cref="VectorPrecision.Single"/> (pgvector <c>vector</c>, default) or
    /// <see cref="VectorPrecision.Half"/> (<c>halfvec</c>, half the disk). An existing table must have the same.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is neither <see cref="VectorPrecision.Single"/> nor <see cref="VectorPrecision.Half"/>.</exception>
    public VectorPrecision Precision
    {
        get;
        init
        {
            if (value is not (VectorPrecision.Single or VectorPrecision.Half))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "Use VectorPrecision.Single or VectorPrecision.Half (pgvector has no int8 type).");
            }

            field = value;
        }
    }

    /// <summary>
    /// Gets the time a single database command may take before it is cancelled with a <see cref="PgVectorStoreException"/>.
    /// Default 30 seconds. Building an approximate index is exempt (it takes minutes on large tables) but still cancellable.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive, or longer than a day.</exception>
    public TimeSpan CommandTimeout
    {
        get;
        init
        {
            if (value <= TimeSpan.Zero || value > TimeSpan.FromDays(1))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "The command timeout must be positive and at most a day.");
            }

            field = value;
        }
    }

    = TimeSpan.FromSeconds(30);

    /// <summary>Gets how many records go into one binary COPY and merge (one transaction). Default 2,000.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero or negative.</exception>
    public int UpsertBatchSize
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            field = value;
        }
    }

    = 2000;

    /// <summary>
    /// Gets how <see cref="IVectorStore.SearchAsync"/> searches (for example through <c>SimilaritySearcher</c>): exact
    /// (default) or approximate with <see cref="PgVectorSearchOptions.Candidates"/> from <see cref="DefaultSearch"/>.
    /// The <see cref="PgVectorStore.SearchAsync(ReadOnlyMemory{float}, PgVectorSearchOptions?, CancellationToken)"/> overload chooses per query.
    /// </summary>
    /// <exception cref="ArgumentNullException">The value is <see langword="null"/>.</exception>
    public PgVectorSearchOptions DefaultSearch
    {
        get;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            field = value;
        }
    } = PgVectorSearchOptions.Default;

    internal int CommandTimeoutSeconds => (int)Math.Ceiling(CommandTimeout.TotalSeconds);

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,47}$", RegexOptions.CultureInvariant)]
    private static partial Regex TableNamePattern();
}
