namespace ImageSimilarity.Indexing;

/// <summary>The outcome of one file in a folder indexing run.</summary>
/// <param name="Id">The record id: the path relative to the indexed folder, with '/' separators.</param>
/// <param name="Path">The full file path.</param>
/// <param name="Outcome">What happened.</param>
/// <param name="Reason">Why the file failed or was skipped; <see langword="null"/> otherwise.</param>
public sealed record FileIndexResult(string Id, string Path, FileIndexOutcome Outcome, string? Reason = null);
