namespace ImageSimilarity.PgVector.Distributed;

/// <summary>What one worker did in <see cref="DistributedIndexer.WorkAsync"/>.</summary>
/// <param name="Batches">Batches this worker finished.</param>
/// <param name="Extracted">Images it extracted.</param>
/// <param name="Reused">Images it stored without extraction, from a record with the same content hash.</param>
/// <param name="Failed">Files it could not read or decode (recorded in the job table with the reason).</param>
/// <param name="Elapsed">Wall-clock time.</param>
public sealed record DistributedWorkResult(int Batches, int Extracted, int Reused, int Failed, TimeSpan Elapsed);
