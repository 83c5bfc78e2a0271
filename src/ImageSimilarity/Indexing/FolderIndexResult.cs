namespace ImageSimilarity.Indexing;

/// <summary>The summary of a folder indexing run: every file's outcome, counts and throughput.</summary>
public sealed class FolderIndexResult
{
    internal FolderIndexResult(string folder, IReadOnlyList<FileIndexResult> files, TimeSpan elapsed, TimeSpan extractionTime)
    {
        Folder = folder;
        Files = files;
        Elapsed = elapsed;
        ExtractionTime = extractionTime;
    }

    /// <summary>Gets the indexed folder (full path).</summary>
    public string Folder { get; }

    /// <summary>Gets every file's outcome, including removed records.</summary>
    public IReadOnlyList<FileIndexResult> Files { get; }

    /// <summary>Gets the wall-clock time of the run.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Gets the time spent inside the feature extractor.</summary>
    public TimeSpan ExtractionTime { get; }

    /// <summary>Gets the number of files extracted and stored.</summary>
    public int Indexed => Count(FileIndexOutcome.Indexed);

    /// <summary>Gets the number of files found unchanged.</summary>
    public int Unchanged => Count(FileIndexOutcome.Unchanged);

    /// <summary>Gets the number of files that failed to decode.</summary>
    public int Failed => Count(FileIndexOutcome.Failed);

    /// <summary>Gets the number of files skipped as not images.</summary>
    public int Skipped => Count(FileIndexOutcome.Skipped);

    /// <summary>Gets the number of records removed because their files are gone.</summary>
    public int Removed => Count(FileIndexOutcome.Removed);

    /// <summary>Gets the end-to-end throughput: indexed images per second of wall-clock time.</summary>
    public double ImagesPerSecond => Elapsed > TimeSpan.Zero ? Indexed / Elapsed.TotalSeconds : 0;

    private int Count(FileIndexOutcome outcome) => Files.Count(f => f.Outcome == outcome);
}
