namespace ImageSimilarity.Indexing;

/// <summary>How a folder is indexed.</summary>
public sealed class FolderIndexOptions
{
    private int _batchSize = 8;
    private int _decodeWorkers = Math.Max(1, Environment.ProcessorCount);
    private TimeSpan _checkpointInterval = TimeSpan.FromSeconds(30);

    /// <summary>Gets the default options.</summary>
    public static FolderIndexOptions Default { get; } = new();

    /// <summary>Gets or sets a value indicating whether sub-folders are indexed too. Default <see langword="true"/>.</summary>
    public bool Recursive { get; set; } = true;

    /// <summary>
    /// Gets or sets a value indicating whether links to directories are followed. Default <see langword="false"/>: such
    /// links are reported as skipped. When <see langword="true"/>, each real directory is still visited only once, so a
    /// link back to an ancestor or two links to the same folder cannot make the walk loop or index files twice. Links to
    /// files are always resolved; one that points outside the indexed folder (and outside followed directory links) is skipped.
    /// </summary>
    public bool FollowDirectoryLinks { get; set; }

    /// <summary>
    /// Gets or sets glob patterns (<c>*</c>, <c>?</c>, <c>**</c>) of relative paths to index; empty for every file.
    /// Files are decoded by content, so by default every file is tried and non-images are reported as skipped.
    /// </summary>
    public IReadOnlyList<string> Include { get; set; } = [];

    /// <summary>Gets or sets glob patterns of relative paths to leave out (checked after <see cref="Include"/>). Hidden files (names starting with '.') are always left out.</summary>
    public IReadOnlyList<string> Exclude { get; set; } = [];

    /// <summary>Gets or sets how many images go through the model at once. Default 8.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero or negative.</exception>
    public int BatchSize
    {
        get => _batchSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _batchSize = value;
        }
    }

    /// <summary>Gets or sets how many threads decode and preprocess images while the model runs. Default: the processor count.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero or negative.</exception>
    public int DecodeWorkers
    {
        get => _decodeWorkers;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _decodeWorkers = value;
        }
    }

    /// <summary>
    /// Gets or sets how often a store that saves explicitly (<see cref="Storage.IPersistentVectorStore"/>) is saved during the run,
    /// so a run that is killed resumes without redoing finished work. Default 30 seconds.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero or negative.</exception>
    public TimeSpan CheckpointInterval
    {
        get => _checkpointInterval;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            _checkpointInterval = value;
        }
    }

    /// <summary>Gets or sets a value indicating whether records of files that are gone from the folder are removed. Default <see langword="true"/>.</summary>
    public bool RemoveMissing { get; set; } = true;

    /// <summary>Gets or sets a value indicating whether the run saves the store when it ends (when the store saves explicitly). Default <see langword="true"/>.</summary>
    public bool SaveWhenDone { get; set; } = true;
}
