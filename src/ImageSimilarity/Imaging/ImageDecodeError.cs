namespace ImageSimilarity.Imaging;

/// <summary>Why an image could not be decoded.</summary>
public enum ImageDecodeError
{
    /// <summary>The file or stream holds no bytes, or the path is not a regular file (a pipe, device or socket, which is never read).</summary>
    EmptyFile,

    /// <summary>The content is not an image in a supported format (JPEG, PNG, WebP, GIF, BMP).</summary>
    UnknownFormat,

    /// <summary>The content starts like a supported image but is truncated or corrupt.</summary>
    Corrupt,

    /// <summary>The image header announces more pixels than <see cref="ImageDecoderOptions.MaxPixels"/> allows.</summary>
    TooLarge,

    /// <summary>The file could not be read (missing, a directory, a broken link, no permission, I/O error).</summary>
    Unreadable,

    /// <summary>The file or stream holds more bytes than <see cref="ImageDecoderOptions.MaxFileSize"/> allows; it was not read into memory.</summary>
    FileTooLarge,
}
