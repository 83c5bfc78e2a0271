namespace ImageSimilarity.Imaging;

/// <summary>How images are decoded before preprocessing.</summary>
/// <remarks>
/// Immutable once built (init-only properties), so one instance can be shared by every preprocessor and thread.
/// Hand one to <see cref="ImagePreprocessor"/>, to <see cref="Extraction.Vgg16ExtractorOptions.DecoderOptions"/>, or set
/// <c>MaxPixels</c>/<c>ApplyExifOrientation</c> in <see cref="ImageSimilarityOptions"/>.
/// </remarks>
public sealed class ImageDecoderOptions
{
    /// <summary>The default of <see cref="MaxPixels"/>: 100 megapixels.</summary>
    public const long DefaultMaxPixels = 100_000_000;

    /// <summary>Gets the default options: at most 100 megapixels, EXIF orientation applied, transparency over white.</summary>
    public static ImageDecoderOptions Default { get; } = new();

    /// <summary>
    /// Gets the largest width x height accepted. Larger images are refused from their header, before any pixel memory
    /// is allocated (protection against decompression bombs). Default <see cref="DefaultMaxPixels"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero or negative.</exception>
    public long MaxPixels
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            field = value;
        }
    } = DefaultMaxPixels;

    /// <summary>Gets a value indicating whether the EXIF orientation tag is applied (rotating/flipping the pixels). Default <see langword="true"/>.</summary>
    public bool ApplyExifOrientation { get; init; } = true;

    /// <summary>Gets the colour that transparent pixels are composited over. Default white, as the reference pipeline does.</summary>
    public RgbColor Background { get; init; } = RgbColor.White;
}
