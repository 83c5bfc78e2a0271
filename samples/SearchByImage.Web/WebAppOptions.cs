namespace SearchByImage.Web;

/// <summary>The web app's own settings: the "SearchByImage" configuration section (environment: <c>SearchByImage__MaxUploadBytes</c>, ...).</summary>
internal sealed class WebAppOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "SearchByImage";

    /// <summary>Gets or sets the largest accepted upload (the whole request body). Default 20 MB.</summary>
    public long MaxUploadBytes { get; set; } = 20 * 1024 * 1024;

    /// <summary>
    /// Gets or sets how many uploads may wait for or be in extraction at once. More are refused with 503 and
    /// Retry-After instead of queueing without bound. Default 16.
    /// </summary>
    public int MaxQueuedExtractions { get; set; } = 16;

    /// <summary>Gets or sets how many uploads are decoded at once (each decoded image can take width x height x 4 bytes). Default: the processor count.</summary>
    public int DecodeConcurrency { get; set; } = Environment.ProcessorCount;

    /// <summary>Gets or sets how many waiting uploads go through the model together. Default 8.</summary>
    public int MaxBatch { get; set; } = 8;

    /// <summary>Gets or sets the number of results when the request does not say. Default 9, as in the recipe.</summary>
    public int DefaultTop { get; set; } = 9;

    /// <summary>Gets or sets the most results one request may ask for. Default 100.</summary>
    public int MaxTop { get; set; } = 100;

    /// <summary>Gets or sets the longest side of thumbnails in pixels. Default 256.</summary>
    public int ThumbnailSize { get; set; } = 256;

    /// <summary>Gets or sets how long browsers may cache thumbnails and originals. Default one hour.</summary>
    public TimeSpan ImageCacheDuration { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Gets or sets the folder the optional admin endpoint (<c>POST /admin/index</c>, loopback connections only)
    /// indexes into the app's index; <see langword="null"/> (the default) leaves the endpoint unmapped.
    /// </summary>
    public string? AdminIndexFolder { get; set; }

    /// <summary>Checks the values; throws with the configuration key on a bad one.</summary>
    public void Validate()
    {
        Positive(MaxUploadBytes, nameof(MaxUploadBytes));
        Positive(MaxQueuedExtractions, nameof(MaxQueuedExtractions));
        Positive(DecodeConcurrency, nameof(DecodeConcurrency));
        Positive(MaxBatch, nameof(MaxBatch));
        Positive(DefaultTop, nameof(DefaultTop));
        Positive(MaxTop, nameof(MaxTop));
        Positive(ThumbnailSize, nameof(ThumbnailSize));
        if (DefaultTop > MaxTop)
        {
            throw new InvalidOperationException($"{SectionName}:DefaultTop ({DefaultTop}) must not exceed {SectionName}:MaxTop ({MaxTop}).");
        }

        if (ImageCacheDuration < TimeSpan.Zero)
        {
            throw new InvalidOperationException($"{SectionName}:ImageCacheDuration must not be negative.");
        }
    }

    private static void Positive(long value, string key)
    {
        if (value <= 0)
        {
            throw new InvalidOperationException($"{SectionName}:{key} must be at least 1 (it is {value}); fix appsettings.json or the environment variable {SectionName}__{key}.");
        }
    }
}
