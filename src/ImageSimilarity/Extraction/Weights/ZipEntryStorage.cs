using System.IO.Compression;

namespace ImageSimilarity.Extraction.Weights;

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
                    for (var left = byteOffset; left > 0;)
                    {
                        var n = stream.Read(skip[..(int)Math.Min(left, skip.Length)]);
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
