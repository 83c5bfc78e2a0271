using Microsoft.Win32.SafeHandles;

namespace ImageSimilarity.Extraction.Weights;

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
        var position = _fileOffset + byteOffset;
        while (!destination.IsEmpty)
        {
            var n = RandomAccess.Read(_handle, destination, position);
            if (n == 0)
            {
                throw new WeightsFileException(_fileName, [$"the file is truncated: {Description} ends before its {ByteLength:N0} bytes"]);
            }

            destination = destination[n..];
            position += n;
        }
    }
}
