namespace ImageSimilarity.Imaging;

/// <summary>How images are decoded before preprocessing.</summary>
public sealed class ImageDecoderOptions
{
    private long _maxPixels = 100_000_000;

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

    /// <summary>Gets or sets a value indicating whether the EXIF orientation tag is applied (rotating/flipping the pixels). Default <see langword="true"/>.</summary>
    public bool ApplyExifOrientation { get; set; } = true;

    /// <summary>Gets or sets the colour that transparent pixels are composited over. Default white, as the reference pipeline does.</summary>
    public RgbColor Background { get; set; } = RgbColor.White;
}
