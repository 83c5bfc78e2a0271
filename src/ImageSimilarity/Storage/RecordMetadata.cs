namespace ImageSimilarity.Storage;

/// <summary>The metadata keys the library writes for images it stores.</summary>
public static class RecordMetadata
{
    /// <summary>The full path of the image file (for streams and bytes added through <see cref="Search.SimilaritySearcher"/>, their name).</summary>
    public const string Path = "path";

    /// <summary>The full path of the folder the image was indexed from.</summary>
    public const string Root = "root";

    /// <summary>The file size in bytes (invariant culture).</summary>
    public const string Size = "size";

    /// <summary>The file's last write time, UTC, round-trip format ("O").</summary>
    public const string LastWriteUtc = "mtime";

    /// <summary>The SHA-256 of the file content, lowercase hex.</summary>
    public const string Sha256 = "sha256";

    /// <summary>When the features were extracted and stored, UTC, round-trip format ("O").</summary>
    public const string IndexedUtc = "indexed";
}
