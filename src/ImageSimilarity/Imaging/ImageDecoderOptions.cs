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

    /// <summary>
    /// Gets what is done with transparency. Default <see cref="TransparencyMode.CompositeOverBackground"/>;
    /// <see cref="KerasLoadImage"/> uses <see cref="TransparencyMode.Ignore"/>.
    /// </summary>
    public TransparencyMode Transparency { get; init; } = TransparencyMode.CompositeOverBackground;

    /// <summary>
    /// Gets the options that reproduce Keras' <c>load_img</c> exactly, the default of the
    /// <see cref="PreprocessingPreset.KerasCaffe"/> preset: Pillow opens the file and calls <c>convert('RGB')</c>, which
    /// drops alpha without compositing (<see cref="TransparencyMode.Ignore"/>) and does not apply the EXIF orientation.
    /// At most 100 megapixels, as <see cref="Default"/>.
    /// </summary>
    public static ImageDecoderOptions KerasLoadImage { get; } = new() { ApplyExifOrientation = false, Transparency = TransparencyMode.Ignore };

    /// <summary>Gets the default decoder options of a preprocessing preset: <see cref="KerasLoadImage"/> for keras-caffe, else <see cref="Default"/>.</summary>
    /// <param name="preset">The preset.</param>
    /// <returns>The shared default options of that preset.</returns>
    public static ImageDecoderOptions ForPreset(PreprocessingPreset preset)
        => preset == PreprocessingPreset.KerasCaffe ? KerasLoadImage : Default;
}
