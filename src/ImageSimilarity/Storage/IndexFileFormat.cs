using System.Buffers.Binary;
using System.IO.Hashing;

namespace ImageSimilarity.Storage;

/// <summary>
/// The layout of the old single-file index (format version 1, <c>.isvs</c>; read for conversion; all integers little-endian):
/// <code>
///   0   8  magic "ISVS" 0D 0A 1A 0A (the CR/LF/EOF bytes catch text-mode transfers, as in PNG)
///   8   4  format version (1)
///  12   4  header size (128)
///  16   4  dimension
///  20   4  precision (0 = float32, 1 = float16)
///  24   8  record count
///  32   8  metadata section offset      40  8  metadata section length
///  48   8  vector section offset (4 KiB aligned)   56  8  vector section length (count x dimension x element size)
///  64   8  XxHash3 of the metadata section   72  8  XxHash3 of the vector section
///  80  40  reserved (zero)
/// 120   8  XxHash3 of bytes 0-119
/// </code>
/// The metadata section holds the model id, created/updated times, the store properties and, per record in vector
/// order, the id and its metadata (length-prefixed UTF-8 strings). The vector section holds the unit vectors as rows.
/// </summary>
internal static class IndexFileFormat
{
    public const int HeaderSize = 128;
    public const int CurrentVersion = 1;
    public const int VectorAlignment = 4096;

    /// <summary>The largest dimension a reader accepts (VGG16 fc2 has 4096); anything larger is a corrupt header.</summary>
    public const int MaxDimension = 65_536;

    public static ReadOnlySpan<byte> Magic => "ISVS\r\n\x1A\n"u8;

    public static long AlignUp(long value) => (value + VectorAlignment - 1) / VectorAlignment * VectorAlignment;

    public static void WriteHeader(Span<byte> header, in Header h)
    {
        header.Clear();
        Magic.CopyTo(header);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], CurrentVersion);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], HeaderSize);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], h.Dimension);
        BinaryPrimitives.WriteInt32LittleEndian(header[20..], (int)h.Precision);
        BinaryPrimitives.WriteInt64LittleEndian(header[24..], h.Count);
        BinaryPrimitives.WriteInt64LittleEndian(header[32..], h.MetaOffset);
        BinaryPrimitives.WriteInt64LittleEndian(header[40..], h.MetaLength);
        BinaryPrimitives.WriteInt64LittleEndian(header[48..], h.VectorOffset);
        BinaryPrimitives.WriteInt64LittleEndian(header[56..], h.VectorLength);
        BinaryPrimitives.WriteUInt64LittleEndian(header[64..], h.MetaHash);
        BinaryPrimitives.WriteUInt64LittleEndian(header[72..], h.VectorHash);
        BinaryPrimitives.WriteUInt64LittleEndian(header[120..], XxHash3.HashToUInt64(header[..120]));
    }

    /// <summary>Reads and checks a header; returns the problem in words, or <see langword="null"/> when it is sound.</summary>
    public static string? TryReadHeader(ReadOnlySpan<byte> header, long fileLength, out Header h)
    {
        h = default;
        if (fileLength < Magic.Length || !header[..Magic.Length].SequenceEqual(Magic))
        {
            return "it is not an ImageSimilarity vector index (it does not start with the 'ISVS' signature).";
        }

        if (fileLength < HeaderSize)
        {
            return $"it is truncated: it has {fileLength} bytes, less than the {HeaderSize}-byte header.";
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        if (XxHash3.HashToUInt64(header[..120]) != BinaryPrimitives.ReadUInt64LittleEndian(header[120..]))
        {
            return version > CurrentVersion
                ? $"it uses format version {version}, newer than the version {CurrentVersion} this library reads; update ImageSimilarity."
                : "its header is corrupt (checksum mismatch).";
        }

        if (version != CurrentVersion)
        {
            return version > CurrentVersion
                ? $"it uses format version {version}, newer than the version {CurrentVersion} this library reads; update ImageSimilarity."
                : $"it uses unknown format version {version}.";
        }

        h = new Header(
            BinaryPrimitives.ReadInt32LittleEndian(header[16..]),
            (VectorPrecision)BinaryPrimitives.ReadInt32LittleEndian(header[20..]),
            BinaryPrimitives.ReadInt64LittleEndian(header[24..]),
            BinaryPrimitives.ReadInt64LittleEndian(header[32..]),
            BinaryPrimitives.ReadInt64LittleEndian(header[40..]),
            BinaryPrimitives.ReadInt64LittleEndian(header[48..]),
            BinaryPrimitives.ReadInt64LittleEndian(header[56..]),
            BinaryPrimitives.ReadUInt64LittleEndian(header[64..]),
            BinaryPrimitives.ReadUInt64LittleEndian(header[72..]));

        var elementSize = h.Precision switch { VectorPrecision.Single => 4L, VectorPrecision.Half => 2L, _ => 0L };
        if (h.Dimension <= 0 || h.Dimension > MaxDimension)
        {
            return $"its header is inconsistent (dimension {h.Dimension} is not between 1 and {MaxDimension}).";
        }

        if (BinaryPrimitives.ReadInt32LittleEndian(header[12..]) != HeaderSize || h.Dimension <= 0 || elementSize == 0
            || h.Count < 0 || h.Count > int.MaxValue || h.MetaOffset != HeaderSize || h.MetaLength < 0 || h.MetaLength > int.MaxValue
            || h.VectorOffset != AlignUp(h.MetaOffset + h.MetaLength) || (Int128)h.VectorLength != (Int128)h.Count * h.Dimension * elementSize)
        {
            return "its header is inconsistent (section sizes do not match the record count and dimension).";
        }

        var expected = h.VectorOffset + h.VectorLength;
        if (fileLength < expected)
        {
            return $"it is truncated: it has {fileLength} bytes but its header says {expected}. Restore it from a backup or rebuild the index.";
        }

        if (fileLength > expected)
        {
            return $"it has {fileLength - expected} unexpected bytes after the vectors (expected {expected} bytes in all).";
        }

        return null;
    }

    internal readonly record struct Header(
        int Dimension,
        VectorPrecision Precision,
        long Count,
        long MetaOffset,
        long MetaLength,
        long VectorOffset,
        long VectorLength,
        ulong MetaHash,
        ulong VectorHash);
}
