using System.Buffers.Binary;
using System.IO.Compression;
using SkiaSharp;

namespace ImageSimilarity.TestSupport;

/// <summary>Makes encoded test images in memory: real encoders where they exist, hand-built PNG chunks where the test needs a header that lies.</summary>
internal static class TestImages
{
    /// <summary>Encodes a deterministic picture with SkiaSharp's encoder.</summary>
    public static byte[] Encode(int width, int height, SKEncodedImageFormat format, int quality = 90, byte alpha = 255, int seed = 1)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, alpha == 255 ? SKAlphaType.Opaque : SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        var random = new Random(seed);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var r = (byte)((x * 255 / Math.Max(1, width - 1)) ^ random.Next(16));
                var g = (byte)((y * 255 / Math.Max(1, height - 1)) ^ random.Next(16));
                var b = (byte)(((x + y) * 3) & 0xFF);
                bitmap.SetPixel(x, y, new SKColor(r, g, b, alpha));
            }
        }

        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, quality);
        return data.ToArray();
    }

    /// <summary>Builds a PNG from raw scanlines (filter byte 0 per row), with any bit depth/colour type and correct CRCs.</summary>
    public static byte[] Png(int width, int height, byte bitDepth, byte colorType, byte[]? rawScanlines)
    {
        using var output = new MemoryStream();
        output.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = bitDepth;
        ihdr[9] = colorType;
        WriteChunk(output, "IHDR", ihdr);
        if (rawScanlines is not null)
        {
            using var compressed = new MemoryStream();
            using (var z = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            {
                z.Write(rawScanlines);
            }

            WriteChunk(output, "IDAT", compressed.ToArray());
        }

        WriteChunk(output, "IEND", []);
        return output.ToArray();
    }

    private static void WriteChunk(Stream output, string type, byte[] data)
    {
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, data.Length);
        for (var i = 0; i < 4; i++)
        {
            header[4 + i] = (byte)type[i];
        }

        output.Write(header);
        output.Write(data);
        var crc = Crc32(header[4..], data);
        Span<byte> crcBytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crcBytes, crc);
        output.Write(crcBytes);
    }

    private static uint Crc32(ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFF;
        crc = Update(crc, type);
        crc = Update(crc, data);
        return crc ^ 0xFFFFFFFF;

        static uint Update(uint crc, ReadOnlySpan<byte> bytes)
        {
            foreach (var b in bytes)
            {
                crc ^= b;
                for (var k = 0; k < 8; k++)
                {
                    crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
                }
            }

            return crc;
        }
    }
}
