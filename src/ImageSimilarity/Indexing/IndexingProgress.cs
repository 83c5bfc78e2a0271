namespace ImageSimilarity.Indexing;

/// <summary>A snapshot of a folder indexing run, reported through <see cref="IProgress{T}"/>.</summary>
/// <param name="FilesDone">Files with an outcome so far.</param>
/// <param name="FilesTotal">Files found in the folder.</param>
/// <param name="Indexed">Files extracted and stored so far.</param>
/// <param name="Unchanged">Files found unchanged so far.</param>
/// <param name="Failed">Files that failed so far.</param>
/// <param name="Skipped">Files skipped as not images so far.</param>
/// <param name="ImagesPerSecond">Images indexed per second of wall-clock time since the run started (as <see cref="FolderIndexResult.ImagesPerSecond"/>).</param>
/// <param name="CurrentFile">The file most recently finished, if any.</param>
public sealed record IndexingProgress(
    int FilesDone,
    int FilesTotal,
    int Indexed,
    int Unchanged,
    int Failed,
    int Skipped,
    double ImagesPerSecond,
    string? CurrentFile);
