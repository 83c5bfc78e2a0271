namespace ImageSimilarity.Imaging;

/// <summary>
/// Thrown when an image cannot be decoded: it names the image and says why and what to do.
/// </summary>
public sealed class ImageDecodeException : ImageSimilarityException
{
    /// <summary>Initializes a new instance of the <see cref="ImageDecodeException"/> class.</summary>
    public ImageDecodeException()
        : this("unknown", ImageDecodeError.Corrupt, "the image could not be decoded")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ImageDecodeException"/> class.</summary>
    /// <param name="message">The message.</param>
    public ImageDecodeException(string message)
        : base(message)
    {
        ImageName = "unknown";
        Error = ImageDecodeError.Corrupt;
    }

    /// <summary>Initializes a new instance of the <see cref="ImageDecodeException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public ImageDecodeException(string message, Exception innerException)
        : base(message, innerException)
    {
        ImageName = "unknown";
        Error = ImageDecodeError.Corrupt;
    }

    /// <summary>Initializes a new instance of the <see cref="ImageDecodeException"/> class.</summary>
    /// <param name="imageName">The file path or name of the image.</param>
    /// <param name="error">Why decoding failed.</param>
    /// <param name="detail">What exactly was wrong, in a few words.</param>
    /// <param name="innerException">The cause, if any.</param>
    public ImageDecodeException(string imageName, ImageDecodeError error, string detail, Exception? innerException = null)
        : base($"Cannot decode image '{imageName}': {detail}. {Advice(error)}", innerException)
    {
        ImageName = imageName;
        Error = error;
    }

    /// <summary>Gets the file path or name of the image that failed.</summary>
    public string ImageName { get; }

    /// <summary>Gets why decoding failed.</summary>
    public ImageDecodeError Error { get; }

    private static string Advice(ImageDecodeError error) => error switch
    {
        ImageDecodeError.EmptyFile => "The file is empty; replace it with a complete image or remove it.",
        ImageDecodeError.UnknownFormat => "Supported formats are JPEG, PNG, WebP, GIF and BMP; convert the file or leave it out.",
        ImageDecodeError.Corrupt => "The file is truncated or damaged; re-export or re-download it.",
        ImageDecodeError.TooLarge => "Downscale the image, or raise the limit if you trust the source: ImageDecoderOptions.MaxPixels (Vgg16ExtractorOptions.DecoderOptions, or ImageSimilarity:MaxPixels in configuration).",
        ImageDecodeError.Unreadable => "Check that the file exists and can be read.",
        ImageDecodeError.FileTooLarge => "Leave the file out, or raise ImageDecoderOptions.MaxFileSize if it really is an image.",
        _ => string.Empty,
    };
}
