using ImageSimilarity.Indexing;

namespace ImageSimilarity.PgVector.Distributed;

/// <summary>What <see cref="DistributedIndexer.EnqueueFolderAsync"/> did.</summary>
/// <param name="Files">Files the folder walk found (after the include and exclude globs).</param>
/// <param name="Enqueued">Files that were not in the job table yet and were added to it.</param>
/// <param name="Removed">Records deleted because their file is gone from the folder or no longer included.</param>
/// <param name="LeftOut">Entries the walk left out with the reason (a folder that cannot be listed, a link outside the folder, an undecodable name).</param>
public sealed record DistributedEnqueueResult(int Files, int Enqueued, int Removed, IReadOnlyList<FileIndexResult> LeftOut);
