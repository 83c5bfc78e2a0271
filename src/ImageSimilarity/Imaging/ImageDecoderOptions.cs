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

    /// <summary>The default of <see cref="MaxFileSize"/>: 256 MiB, far above any real photo.</summary>
    public const long DefaultMaxFileSize = 256L * 1024 * 1024;

    /// <summary>Gets the default options (the torchvision preset's): at most 100 megapixels, EXIF orientation applied, transparency over white.</summary>
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

    /// <summary>
    /// Gets the largest encoded image, in bytes, that is read into memory. A larger file or stream is refused
    /// (<see cref="ImageDecodeError.FileTooLarge"/>) before it is read, so a link to a device or a huge file cannot
    /// exhaust memory. Default <see cref="DefaultMaxFileSize"/> (256 MiB); at most <see cref="Array.MaxLength"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is zero, negative or larger than <see cref="Array.MaxLength"/>.</exception>
    public long MaxFileSize
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, Array.MaxLength);
            field = value;
        }
    } = DefaultMaxFileSize;

    /// <summary>Gets a value indicating whether the EXIF orientation tag is applied (rotating/flipping the pixels). Default <see langword="true"/>.</summary>
    public bool ApplyExifOrientation { get; init; } = true;

    /// <summary>Gets the colour that transparent pixels are composited over. Default white, as the reference pipeline does.</summary>
    public RgbColor Background { get; init; } = RgbColor.White;

    /// <summary>
    /// Gets what is done with transparency. Default <see cref="TransparencyMode.CompositeOverBackground"/>;
    /// <see cref="KerasLoadImage"/> (the keras-caffe preset) uses <see cref="TransparencyMode.Ignore"/>.
    /// </summary>
    public TransparencyMode Transparency { get; init; } = TransparencyMode.CompositeOverBackground;

    /// <summary>
    /// Gets the options that reproduce Keras' <c>load_img</c> exactly, which the <see cref="PreprocessingPreset.KerasCaffe"/>
    /// preset always decodes with (taking only <see cref="MaxPixels"/> from the options it is given): Pillow opens the
    /// file and calls <c>convert('RGB')</c>, which drops alpha without compositing (<see cref="TransparencyMode.Ignore"/>),
    /// and no EXIF orientation is applied. At most 100 megapixels, as <see cref="Default"/>.
    /// </summary>
    public static ImageDecoderOptions KerasLoadImage { get; } = new() { ApplyExifOrientation = false, Transparency = TransparencyMode.Ignore };
}
