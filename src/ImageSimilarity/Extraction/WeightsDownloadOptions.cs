namespace ImageSimilarity.Extraction;

/// <summary>Where the official weights come from and where they are kept. The defaults fetch torchvision's VGG16 file.</summary>
/// <remarks>Immutable once built (init-only properties).</remarks>
public sealed class WeightsDownloadOptions
{
    /// <summary>Gets the default options: torchvision's official file into <see cref="Vgg16Weights.DefaultCacheDirectory"/>, download allowed.</summary>
    public static WeightsDownloadOptions Default { get; } = new();

    /// <summary>Gets the URL to download from. Default <see cref="Vgg16Weights.OfficialUri"/>.</summary>
    public Uri SourceUri { get; init; } = Vgg16Weights.OfficialUri;

    /// <summary>Gets the expected SHA-256 of the file (hex). Default <see cref="Vgg16Weights.OfficialSha256"/>.</summary>
    public string Sha256 { get; init; } = Vgg16Weights.OfficialSha256;

    /// <summary>Gets the file name in the cache directory. Default <see cref="Vgg16Weights.OfficialFileName"/>.</summary>
    public string FileName { get; init; } = Vgg16Weights.OfficialFileName;

    /// <summary>Gets the cache directory. Default <see cref="Vgg16Weights.DefaultCacheDirectory"/>, read from the environment when it is used.</summary>
    public string CacheDirectory
    {
        get => field ?? Vgg16Weights.DefaultCacheDirectory;
        init => field = value;
    }

    /// <summary>Gets a value indicating whether a missing file may be downloaded. Default <see langword="true"/>.</summary>
    public bool AllowDownload { get; init; } = true;

    /// <summary>Gets the HTTP client to use; <see langword="null"/> (the default) uses a private one.</summary>
    public HttpClient? HttpClient { get; init; }

    /// <summary>Gets the full path of the cached file.</summary>
    public string CachedFilePath => Path.Combine(CacheDirectory, FileName);
}
