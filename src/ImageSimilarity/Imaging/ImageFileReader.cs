namespace ImageSimilarity.Imaging;

/// <summary>
/// Reads image files defensively: links are resolved first, only regular files with content are opened, and never
/// more than a cap is read. Pipes, devices and sockets report a size of 0 and are refused without being opened, so a
/// FIFO cannot block the caller and <c>/dev/zero</c> cannot exhaust memory.
/// </summary>
internal static class ImageFileReader
{
    /// <summary>Reads the whole file at <paramref name="path"/>.</summary>
    /// <exception cref="ImageDecodeException">The path is not a readable regular file, is empty or is larger than <paramref name="maxBytes"/>.</exception>
    public static async ValueTask<byte[]> ReadAsync(string path, string name, long maxBytes, CancellationToken cancellationToken)
    {
        var length = CheckRegularFile(path, name, maxBytes);
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
            var buffer = GC.AllocateUninitializedArray<byte>((int)length);
            var total = 0;
            while (total < buffer.Length)
            {
                var n = await RandomAccess.ReadAsync(handle, buffer.AsMemory(total), total, cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                total += n;
            }

            return total == buffer.Length ? buffer : buffer[..total];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ImageDecodeException(name, ImageDecodeError.Unreadable, $"the file could not be read: {ex.Message}", ex);
        }
    }

    /// <summary>Reads the whole file at <paramref name="path"/>, synchronously.</summary>
    /// <exception cref="ImageDecodeException">The path is not a readable regular file, is empty or is larger than <paramref name="maxBytes"/>.</exception>
    public static byte[] Read(string path, string name, long maxBytes)
    {
        var length = CheckRegularFile(path, name, maxBytes);
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            var buffer = GC.AllocateUninitializedArray<byte>((int)length);
            var total = 0;
            while (total < buffer.Length)
            {
                var n = RandomAccess.Read(handle, buffer.AsSpan(total), total);
                if (n == 0)
                {
                    break;
                }

                total += n;
            }

            return total == buffer.Length ? buffer : buffer[..total];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ImageDecodeException(name, ImageDecodeError.Unreadable, $"the file could not be read: {ex.Message}", ex);
        }
    }

    /// <summary>Reads a stream to its end, refusing more than <paramref name="maxBytes"/>.</summary>
    public static async ValueTask<ReadOnlyMemory<byte>> ReadAsync(Stream stream, string name, long maxBytes, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            Append(buffer, chunk.AsSpan(0, n), name, maxBytes);
        }

        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }

    /// <summary>Reads a stream to its end, synchronously, refusing more than <paramref name="maxBytes"/>.</summary>
    public static ReadOnlyMemory<byte> Read(Stream stream, string name, long maxBytes)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = stream.Read(chunk)) > 0)
        {
            Append(buffer, chunk.AsSpan(0, n), name, maxBytes);
        }

        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }

    /// <summary>
    /// Checks, without opening it, that <paramref name="path"/> (after resolving links) is a regular file with
    /// content no larger than <paramref name="maxBytes"/>, and returns its size.
    /// </summary>
    /// <exception cref="ImageDecodeException">It is not.</exception>
    public static long CheckRegularFile(string path, string name, long maxBytes)
    {
        string real;
        bool isLink;
        try
        {
            var target = File.ResolveLinkTarget(path, returnFinalTarget: true);
            isLink = target is not null;
            real = target?.FullName ?? path;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ImageDecodeException(name, ImageDecodeError.Unreadable, $"the link cannot be resolved ({ex.Message})", ex);
        }

        if (Directory.Exists(real))
        {
            throw new ImageDecodeException(name, ImageDecodeError.Unreadable, isLink ? "it is a link to a directory, not a file" : "it is a directory, not a file");
        }

        var info = new FileInfo(real);
        if (!info.Exists)
        {
            throw new ImageDecodeException(name, ImageDecodeError.Unreadable, isLink ? "it is a link to a file that does not exist" : "the file does not exist");
        }

        long length;
        try
        {
            length = info.Length;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ImageDecodeException(name, ImageDecodeError.Unreadable, $"the file could not be read: {ex.Message}", ex);
        }

        if (length == 0)
        {
            // Pipes, character devices and sockets report 0 bytes too: they are refused here, before an open() that
            // could block forever (a FIFO without a writer) or a read that never ends (/dev/zero).
            throw new ImageDecodeException(name, ImageDecodeError.EmptyFile, "the file is empty (0 bytes) or is not a regular file (a pipe, device or socket is never read)");
        }

        if (length > maxBytes)
        {
            throw new ImageDecodeException(name, ImageDecodeError.FileTooLarge, $"the file is {length:N0} bytes, more than the limit of {maxBytes:N0}");
        }

        return length;
    }

    private static void Append(MemoryStream buffer, ReadOnlySpan<byte> chunk, string name, long maxBytes)
    {
        if (buffer.Length + chunk.Length > maxBytes)
        {
            throw new ImageDecodeException(name, ImageDecodeError.FileTooLarge, $"the stream holds more than the limit of {maxBytes:N0} bytes");
        }

        buffer.Write(chunk);
    }
}
