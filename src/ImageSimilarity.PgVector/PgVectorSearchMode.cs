namespace ImageSimilarity.PgVector;

/// <summary>How <see cref="PgVectorStore"/> searches.</summary>
public enum PgVectorSearchMode
{
    /// <summary>Every record is compared with the query (<c>ORDER BY embedding &lt;=&gt; query</c>): exact, time grows with the table.</summary>
    Exact = 0,

    /// <summary>
    /// The HNSW index over the records' binary codes proposes <see cref="PgVectorSearchOptions.Candidates"/> records by
    /// Hamming distance, which are then re-ranked by exact cosine similarity in the same query. Needs
    /// <see cref="PgVectorStore.CreateApproximateIndexAsync"/>; without the index it still answers, but scans.
    /// </summary>
    Approximate = 1,
}
