namespace ImageSimilarity.Indexing;

/// <summary>How a folder is indexed.</summary>
/// <remarks>
/// Immutable once built (init-only properties; the pattern lists are copied when set). How many images go through the
/// model at once is the extractor's setting (<see cref="Extraction.Vgg16ExtractorOptions.BatchSize"/>), not this one's.
/// </remarks>
public sealed class FolderIndexOptions
{
    /// <summary>Gets the default options.</summary>
    public static FolderIndexOptions Default { get; } = new();

    /// <summary>Gets a value indicating whether sub-folders are indexed too. Default <see langword="true"/>.</summary>
    public bool Recursive { get; init; } = true;

    /// <summary>
    /// Gets a value indicating whether links to directories are followed. Default <see langword="false"/>: such
    /// links are reported as skipped. When <see langword="true"/>, each real directory is still visited only once, so a
    /// link back to an ancestor or two links to the same folder cannot make the walk loop or index files twice. Links to
    /// files are always resolved; one that points outside the indexed folder (and outside followed directory links) is skipped.
    /// </summary>
    public bool FollowDirectoryLinks { get; init; }

    /// <summary>
    /// Gets glob patterns (<c>*</c>, <c>?</c>, <c>**</c>) of relative paths to index; empty for every file.
    /// Files are decoded by content, so by default every file is tried and non-images are reported as skipped.
    /// </summary>
    /// <exception cref="ArgumentNullException">The value is <see langword="null"/>.</exception>
    public IReadOnlyList<string> Include
    {
        get;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            field = [.. value];
        }
    } = [];

    /// <summary>Gets glob patterns of relative paths to leave out (checked after <see cref="Include"/>). Hidden files (names starting with '.') are always left out.</summary>
    /// <exception cref="ArgumentNullException">The value is <see langword="null"/>.</exception>
    public IReadOnlyList<string> Exclude
    {
        get;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            field = [.. value];
        }
    } = [];

    /// <summary>Gets how many threads decode and preprocess images while the model runs. Default: the processor count.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero or negative.</exception>
    public int DecodeWorkers
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            field = value;
        }
    } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>
    /// Gets how often a store that saves explicitly (<see cref="Storage.IPersistentVectorStore"/>) is saved during the run,
    /// so a run that is killed resumes without redoing finished work. Default 30 seconds.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero or negative.</exception>
    public TimeSpan CheckpointInterval
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            field = value;
        }
    } = TimeSpan.FromSeconds(30);

    /// <summary>Gets a value indicating whether records of files that are gone from the folder are removed. Default <see langword="true"/>.</summary>
    public bool RemoveMissing { get; init; } = true;

    /// <summary>Gets a value indicating whether the run saves the store when it ends (when the store saves explicitly). Default <see langword="true"/>.</summary>
    public bool SaveWhenDone { get; init; } = true;
}
