namespace ImageSimilarity.Imaging;

/// <summary>How images are decoded before preprocessing.</summary>
public sealed class ImageDecoderOptions
{
    private long _maxPixels = 100_000_000;
    private long _maxFileSize = DefaultMaxFileSize;

    /// <summary>Gets the default options: at most 100 megapixels, EXIF orientation applied, transparency over white.</summary>
    public static ImageDecoderOptions Default { get; } = new();

    /// <summary>
    /// Gets or sets the largest width x height accepted. Larger images are refused from their header, before any
    /// pixel memory is allocated (protection against decompression bombs). Default 100,000,000.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero or negative.</exception>
    public long MaxPixels
    {
        get => _maxPixels;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _maxPixels = value;
        }
    }

    /// <summary>The default <see cref="MaxFileSize"/>: 256 MiB, far above any real photo.</summary>
    public const long DefaultMaxFileSize = 256L * 1024 * 1024;

    /// <summary>
    /// Gets or sets the largest encoded image, in bytes, that is read into memory. A larger file or stream is refused
    /// (<see cref="ImageDecodeError.FileTooLarge"/>) before it is read, so a link to a device or a huge file cannot
    /// exhaust memory. Default <see cref="DefaultMaxFileSize"/> (256 MiB); at most <see cref="Array.MaxLength"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero, negative or larger than <see cref="Array.MaxLength"/>.</exception>
    public long MaxFileSize
    {
        get => _maxFileSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, Array.MaxLength);
            _maxFileSize = value;
        }
    }

    /// <summary>Gets or sets a value indicating whether the EXIF orientation tag is applied (rotating/flipping the pixels). Default <see langword="true"/>.</summary>
    public bool ApplyExifOrientation { get; set; } = true;

    /// <summary>Gets or sets the colour that transparent pixels are composited over. Default white, as the reference pipeline does.</summary>
    public RgbColor Background { get; set; } = RgbColor.White;
}
