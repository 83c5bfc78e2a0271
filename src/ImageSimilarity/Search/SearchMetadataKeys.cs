namespace ImageSimilarity.Search;

/// <summary>The metadata keys <see cref="SimilaritySearcher"/> fills in when it adds an image.</summary>
public static class SearchMetadataKeys
{
    /// <summary>The image's file path, or its name for streams and bytes.</summary>
    public const string Source = "source";

    /// <summary>The SHA-256 of the encoded image bytes, lowercase hex; finds the query image among the results.</summary>
    public const string ContentHash = "sha256";

    /// <summary>When the image was added, as an ISO 8601 UTC timestamp.</summary>
    public const string AddedUtc = "added";
}
