namespace ImageSimilarity.Storage;

/// <summary>One search result: a stored id, its cosine similarity to the query and its metadata.</summary>
/// <param name="Id">The stored id.</param>
/// <param name="Similarity">The cosine similarity to the query, from -1 to 1 (1 = same direction).</param>
/// <param name="Metadata">The record's metadata.</param>
public sealed record VectorSearchResult(string Id, float Similarity, IReadOnlyDictionary<string, string> Metadata);
