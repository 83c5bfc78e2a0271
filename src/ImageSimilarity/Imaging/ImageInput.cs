namespace ImageSimilarity.Imaging;

/// <summary>
/// An image to decode: a file path, a stream or bytes in memory, with a name used in errors and results.
/// </summary>
/// <remarks>
/// The format is always detected from the content, never from the file name: a PNG named <c>photo.jpeg</c>
/// decodes as PNG. A stream input is read once, from its current position; the caller keeps ownership of it.
/// </remarks>
public sealed class ImageInput
{
    private readonly string? _path;
    private readonly Stream? _stream;
    private readonly ReadOnlyMemory<byte> _bytes;

    private ImageInput(string name, string? path, Stream? stream, ReadOnlyMemory<byte> bytes)
    {
        Name = name;
        _path = path;
        _stream = stream;
        _bytes = bytes;
    }

    /// <summary>Gets the name that identifies this image in errors and results (the path for files).</summary>
    public string Name { get; }

    /// <summary>Gets the file path when the image comes from a file; otherwise <see langword="null"/>.</summary>
    public string? FilePath => _path;

    /// <summary>Creates an input that reads the image file at <paramref name="path"/>.</summary>
    /// <param name="path">The image file. It is opened only when the image is decoded.</param>
    /// <returns>The input.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is <see langword="null"/>.</exception>
    public static ImageInput FromFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return new ImageInput(path, path, null, default);
    }

    /// <summary>Creates an input that reads the image from <paramref name="stream"/>, from its current position to its end.</summary>
    /// <param name="stream">A readable stream. The caller keeps ownership and disposes it.</param>
    /// <param name="name">The name used in errors and results; defaults to <c>"stream"</c>.</param>
    /// <returns>The input.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="stream"/> is not readable.</exception>
    public static ImageInput FromStream(Stream stream, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead)
        {
            throw new ArgumentException("The stream must be readable.", nameof(stream));
        }

        return new ImageInput(string.IsNullOrWhiteSpace(name) ? "stream" : name, null, stream, default);
    }

    /// <summary>Creates an input over encoded image bytes (JPEG, PNG, WebP, GIF or BMP).</summary>
    /// <param name="bytes">The encoded image. It is not copied; do not change it while the input is in use.</param>
    /// <param name="name">The name used in errors and results; defaults to <c>"bytes"</c>.</param>
    /// <returns>The input.</returns>
    public static ImageInput FromBytes(ReadOnlyMemory<byte> bytes, string? name = null)
        => new(string.IsNullOrWhiteSpace(name) ? "bytes" : name, null, null, bytes);

    /// <summary>Reads the whole encoded image into memory, refusing more than <see cref="ImageDecoderOptions.DefaultMaxFileSize"/>.</summary>
    internal ValueTask<ReadOnlyMemory<byte>> ReadAllAsync(CancellationToken cancellationToken)
        => ReadAllAsync(ImageDecoderOptions.DefaultMaxFileSize, cancellationToken);

    /// <summary>Reads the whole encoded image into memory, refusing more than <paramref name="maxBytes"/>.</summary>
    /// <remarks>A file is read only if it is a regular file after resolving links (see <see cref="ImageFileReader"/>).</remarks>
    internal async ValueTask<ReadOnlyMemory<byte>> ReadAllAsync(long maxBytes, CancellationToken cancellationToken)
    {
        if (_path is not null)
        {
            return await ImageFileReader.ReadAsync(_path, Name, maxBytes, cancellationToken).ConfigureAwait(false);
        }

        if (_stream is not null)
        {
            return await ImageFileReader.ReadAsync(_stream, Name, maxBytes, cancellationToken).ConfigureAwait(false);
        }

        return _bytes;
    }

    /// <summary>Reads the whole encoded image into memory, synchronously, refusing more than <paramref name="maxBytes"/>.</summary>
    internal ReadOnlyMemory<byte> ReadAll(long maxBytes)
    {
        if (_path is not null)
        {
            return ImageFileReader.Read(_path, Name, maxBytes);
        }

        if (_stream is not null)
        {
            return ImageFileReader.Read(_stream, Name, maxBytes);
        }

        return _bytes;
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
