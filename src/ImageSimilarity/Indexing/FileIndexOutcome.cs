namespace ImageSimilarity.Indexing;

/// <summary>What happened to one file during folder indexing.</summary>
public enum FileIndexOutcome
{
    /// <summary>The file was new or changed; its features were extracted and stored.</summary>
    Indexed,

    /// <summary>The file was already stored with the same content; nothing was extracted.</summary>
    Unchanged,

    /// <summary>The file looks like an image but could not be decoded (truncated, corrupt, too large, unreadable); see the reason.</summary>
    Failed,

    /// <summary>The file is not an image in a supported format; it was left out.</summary>
    Skipped,

    /// <summary>The file is gone from the folder; its record was removed from the store.</summary>
    Removed,
}
