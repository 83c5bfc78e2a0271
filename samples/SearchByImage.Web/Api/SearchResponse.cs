namespace SearchByImage.Web.Api;

/// <summary>The answer to a search.</summary>
/// <param name="Query">What was searched with.</param>
/// <param name="Results">The most similar images of the index, best first.</param>
/// <param name="ElapsedMilliseconds">Time spent on the server, from the request's start to the ranked results.</param>
internal sealed record SearchResponse(SearchQuery Query, IReadOnlyList<SearchHit> Results, double ElapsedMilliseconds);

/// <summary>What a search was made with: an upload (its file name) or a stored image (its id and thumbnail).</summary>
/// <param name="Id">The id of the stored image searched with; <see langword="null"/> for an upload.</param>
/// <param name="Name">The uploaded file name or the stored image's file name.</param>
/// <param name="ThumbnailUrl">The stored image's thumbnail; <see langword="null"/> for an upload.</param>
internal sealed record SearchQuery(string? Id, string Name, string? ThumbnailUrl);

/// <summary>One result.</summary>
/// <param name="Id">The record's id in the index (the path relative to the indexed folder).</param>
/// <param name="Name">The file name.</param>
/// <param name="Similarity">Cosine similarity to the query, 1 for the same picture.</param>
/// <param name="Metadata">The record's metadata (size, sha256, times), without server paths.</param>
/// <param name="ThumbnailUrl">A JPEG thumbnail of the image.</param>
/// <param name="OriginalUrl">The image file as indexed.</param>
/// <param name="SearchUrl">The search with this image as the query.</param>
internal sealed record SearchHit(string Id, string Name, float Similarity, IReadOnlyDictionary<string, string> Metadata, string ThumbnailUrl, string OriginalUrl, string SearchUrl);

/// <summary>The index the app searches, for the status section and <c>GET /api/index</c>.</summary>
/// <param name="Count">The number of images.</param>
/// <param name="Model">The model id of the stored vectors.</param>
/// <param name="Dimension">The vector length.</param>
/// <param name="StorePrecision">How the store keeps vectors (Single or Half), when known.</param>
/// <param name="ExtractionPrecision">The precision the model runs in for uploads (Float32 or BFloat16), when known.</param>
/// <param name="UpdatedUtc">The last change of the index, when known.</param>
/// <param name="IndexFile">The index file's name (not its full path), when it has one.</param>
/// <param name="QueuePending">Uploads waiting for or in extraction now.</param>
/// <param name="QueueCapacity">The most uploads that may wait at once.</param>
/// <param name="MaxUploadBytes">The largest accepted upload.</param>
/// <param name="DefaultTop">The number of results when a request does not say.</param>
/// <param name="MaxTop">The most results a request may ask for.</param>
internal sealed record IndexStatus(
    long Count,
    string Model,
    int Dimension,
    string? StorePrecision,
    string? ExtractionPrecision,
    DateTimeOffset? UpdatedUtc,
    string? IndexFile,
    int QueuePending,
    int QueueCapacity,
    long MaxUploadBytes,
    int DefaultTop,
    int MaxTop);
