namespace ImageSimilarity.PgVector;

/// <summary>How <see cref="PgVectorStore.CreateApproximateIndexAsync"/> builds the HNSW index over binary codes.</summary>
public sealed class ApproximateIndexOptions
{
    /// <summary>Gets the default options: median codes, m = 16, ef_construction = 200, medians from up to 10,000 records.</summary>
    public static ApproximateIndexOptions Default { get; } = new();

    /// <summary>Gets how vectors become codes. Default <see cref="BinaryCodeKind.Median"/> (the better of the two on VGG16 fc2 features; see docs/postgres.md).</summary>
    public BinaryCodeKind CodeKind { get; init; } = BinaryCodeKind.Median;

    /// <summary>Gets HNSW's <c>m</c>: links per node (2 to 100). Default 16.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside 2 to 100.</exception>
    public int M
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 2);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 100);
            field = value;
        }
    }

    = 16;

    /// <summary>
    /// Gets HNSW's <c>ef_construction</c>: candidate list while building (4 to 1000, at least 2 * <see cref="M"/>). Default
    /// 200 (pgvector's own default is 64): over 4096-bit codes, whose integer Hamming distances tie often, 64 left true
    /// neighbours unreachable (recall@10 stopped at 0.996 at 20,000 rows; 200 reached 1.000 for a build about 1.2-2x
    /// longer; docs/postgres.md).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside 4 to 1000.</exception>
    public int EfConstruction
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 4);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 1000);
            field = value;
        }
    }

    = 200;

    /// <summary>Gets how many records (a random sample) the medians are estimated from. Default 10,000.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 10.</exception>
    public int MedianSampleSize
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 10);
            field = value;
        }
    }

    = 10_000;

    /// <summary>Gets the <c>maintenance_work_mem</c> for the build, e.g. "512MB"; the graph should fit in it. Default "512MB".</summary>
    public string MaintenanceWorkMemory { get; init; } = "512MB";
}
