namespace ImageSimilarity.Extraction;

/// <summary>Where the official weights come from and where they are kept. The defaults fetch torchvision's VGG16 file.</summary>
public sealed class WeightsDownloadOptions
{
    /// <summary>Gets or sets the URL to download from. Default <see cref="Vgg16Weights.OfficialUri"/>.</summary>
    public Uri SourceUri { get; set; } = Vgg16Weights.OfficialUri;

    /// <summary>Gets or sets the expected SHA-256 of the file (hex). Default <see cref="Vgg16Weights.OfficialSha256"/>.</summary>
    public string Sha256 { get; set; } = Vgg16Weights.OfficialSha256;

    /// <summary>Gets or sets the file name in the cache directory. Default <see cref="Vgg16Weights.OfficialFileName"/>.</summary>
    public string FileName { get; set; } = Vgg16Weights.OfficialFileName;

    /// <summary>Gets or sets the cache directory. Default <see cref="Vgg16Weights.DefaultCacheDirectory"/>.</summary>
    public string CacheDirectory { get; set; } = Vgg16Weights.DefaultCacheDirectory;

    /// <summary>Gets or sets a value indicating whether a missing file may be downloaded. Default <see langword="true"/>.</summary>
    public bool AllowDownload { get; set; } = true;

    /// <summary>Gets or sets the HTTP client to use; <see langword="null"/> (the default) uses a private one.</summary>
    public HttpClient? HttpClient { get; set; }

    /// <summary>Gets the full path of the cached file.</summary>
    public string CachedFilePath => Path.Combine(CacheDirectory, FileName);
}
