namespace ImageSimilarity.PgVector.Distributed;

/// <summary>Progress of a distributed indexing run as every process sees it (from the job table).</summary>
/// <param name="Files">Files enqueued.</param>
/// <param name="FilesDone">Files in finished batches.</param>
/// <param name="Batches">Batches enqueued.</param>
/// <param name="Pending">Batches nobody has claimed yet.</param>
/// <param name="Leased">Batches claimed by a live worker (lease not expired).</param>
/// <param name="Expired">Batches whose worker's lease expired (it died or hangs); they will be taken again.</param>
/// <param name="Done">Batches finished.</param>
/// <param name="Extracted">Images whose features were extracted (an image is counted again only when its batch was taken again).</param>
/// <param name="Reused">Images not extracted because a record with the same content hash existed.</param>
/// <param name="Failed">Files that could not be read or decoded.</param>
/// <param name="Workers">Workers holding a live lease now.</param>
/// <param name="ImagesPerSecond">Files finished per second over the last minute, all workers together.</param>
public sealed record DistributedIndexStatus(
    long Files,
    long FilesDone,
    long Batches,
    long Pending,
    long Leased,
    long Expired,
    long Done,
    long Extracted,
    long Reused,
    long Failed,
    int Workers,
    double ImagesPerSecond)
{
    /// <summary>Gets a value indicating whether every batch is done.</summary>
    public bool IsComplete => Done == Batches;
}
