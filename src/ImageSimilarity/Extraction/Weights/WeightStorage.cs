using System.IO.Compression;
using Microsoft.Win32.SafeHandles;

namespace ImageSimilarity.Extraction.Weights;

/// <summary>The raw bytes behind one or more tensors of a weights file, read on demand straight into a destination.</summary>
internal abstract class WeightStorage
{
    protected WeightStorage(string description, long byteLength, long availableBytes)
    {
        Description = description;
        ByteLength = byteLength;
        AvailableBytes = availableBytes;
    }

    /// <summary>Gets where the bytes are, for error messages.</summary>
    public string Description { get; }

    /// <summary>Gets the length the file declares for this storage.</summary>
    public long ByteLength { get; }

    /// <summary>Gets how many of the declared bytes the file really holds (less when it is truncated).</summary>
    public long AvailableBytes { get; }

    /// <summary>Fills <paramref name="destination"/> with the bytes that start at <paramref name="byteOffset"/>.</summary>
    public abstract void Read(long byteOffset, Span<byte> destination);
}

/// <summary>A byte range of an open file, read with positional reads (no shared file position, no intermediate buffer).</summary>
internal sealed class FileRangeStorage : WeightStorage
{
    private readonly SafeFileHandle _handle;
    private readonly long _fileOffset;
    private readonly string _fileName;

    public FileRangeStorage(SafeFileHandle handle, string fileName, string description, long fileOffset, long byteLength, long fileLength)
        : base(description, byteLength, Math.Clamp(fileLength - fileOffset, 0, byteLength))
    {
        _handle = handle;
        _fileName = fileName;
        _fileOffset = fileOffset;
    }

    public override void Read(long byteOffset, Span<byte> destination)
    {
        long position = _fileOffset + byteOffset;
        while (!destination.IsEmpty)
        {
            int n = RandomAccess.Read(_handle, destination, position);
            if (n == 0)
            {
                throw new WeightsFileException(_fileName, [$"the file is truncated: {Description} ends before its {ByteLength:N0} bytes"]);
            }

            destination = destination[n..];
            position += n;
        }
    }
}

/// <summary>An entry of a zip-format checkpoint (torch stores them uncompressed), streamed into the destination.</summary>
internal sealed class ZipEntryStorage : WeightStorage
{
    private readonly ZipArchiveEntry _entry;
    private readonly string _fileName;

    public ZipEntryStorage(ZipArchiveEntry entry, string fileName, long byteLength)
        : base($"storage '{entry.FullName}'", byteLength, Math.Min(entry.Length, byteLength))
    {
        _entry = entry;
        _fileName = fileName;
    }

    public override void Read(long byteOffset, Span<byte> destination)
    {
        try
        {
            using var stream = _entry.Open();
            if (byteOffset > 0)
            {
                if (stream.CanSeek)
                {
                    stream.Seek(byteOffset, SeekOrigin.Begin);
                }
                else
                {
                    Span<byte> skip = stackalloc byte[4096];
                    for (long left = byteOffset; left > 0;)
                    {
                        int n = stream.Read(skip[..(int)Math.Min(left, skip.Length)]);
                        if (n == 0)
                        {
                            throw new EndOfStreamException();
                        }

                        left -= n;
                    }
                }
            }

            stream.ReadExactly(destination);
        }
        catch (Exception ex) when (ex is EndOfStreamException or InvalidDataException)
        {
            throw new WeightsFileException(_fileName, [$"the file is truncated or damaged: {Description} cannot be read ({ex.Message})"], ex);
        }
    }
}
