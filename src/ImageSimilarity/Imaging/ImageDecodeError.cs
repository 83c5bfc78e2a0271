namespace ImageSimilarity.Imaging;

/// <summary>Why an image could not be decoded.</summary>
public enum ImageDecodeError
{
    /// <summary>The file or stream holds no bytes.</summary>
    EmptyFile,

    /// <summary>The content is not an image in a supported format (JPEG, PNG, WebP, GIF, BMP).</summary>
    UnknownFormat,

    /// <summary>The content starts like a supported image but is truncated or corrupt.</summary>
    Corrupt,

    /// <summary>The image header announces more pixels than <see cref="ImageDecoderOptions.MaxPixels"/> allows.</summary>
    TooLarge,

    /// <summary>The file could not be read (missing, no permission, I/O error).</summary>
    Unreadable,
}
