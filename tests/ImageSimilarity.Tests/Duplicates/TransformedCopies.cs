using System.Buffers.Binary;
using SkiaSharp;

namespace ImageSimilarity.Duplicates;

/// <summary>
/// Writes near-duplicate copies of an image, the edits people make: half size, JPEG quality 30, a 10 % crop,
/// brightness +30 %, a horizontal mirror, and the pixels rotated a quarter turn with the EXIF orientation tag that
/// turns them upright again.
/// </summary>
internal static class TransformedCopies
{
    /// <summary>The names of the transformations, in the order <see cref="Write"/> makes them.</summary>
    public static readonly string[] Kinds = ["half", "q30", "crop10", "bright30", "mirror", "exif6"];

    /// <summary>Writes one JPEG per transformation of <paramref name="source"/> as <c>{prefix}-{kind}.jpg</c> in <paramref name="folder"/>.</summary>
    /// <returns>The files written.</returns>
    public static IReadOnlyList<string> Write(string source, string folder, string prefix)
    {
        using var original = SKBitmap.Decode(source) ?? throw new InvalidOperationException($"cannot decode {source}");
        var files = new List<string>();
        foreach (var kind in Kinds)
        {
            var bytes = kind switch
            {
                "half" => Encode(Draw(original, original.Width / 2, original.Height / 2, (c, b) => c.DrawBitmap(b, new SKRect(0, 0, b.Width / 2, b.Height / 2), Paint())), 90),
                "q30" => Encode(original, 30),
                "crop10" => Encode(Crop(original, 0.05f), 90),
                "bright30" => Encode(Draw(original, original.Width, original.Height, (c, b) => c.DrawBitmap(b, 0, 0, Brighter(1.3f))), 90),
                "mirror" => Encode(Draw(original, original.Width, original.Height, (c, b) =>
                {
                    c.Scale(-1, 1, b.Width / 2f, 0);
                    c.DrawBitmap(b, 0, 0);
                }), 90),
                "exif6" => WithOrientation(Encode(RotateCounterClockwise(original), 90), 6),
                _ => throw new InvalidOperationException(kind),
            };
            var path = Path.Combine(folder, $"{prefix}-{kind}.jpg");
            File.WriteAllBytes(path, bytes);
            files.Add(path);
        }

        return files;
    }

    private static SKPaint Paint() => new() { IsAntialias = true };

    private static SKPaint Brighter(float factor) => new()
    {
        ColorFilter = SKColorFilter.CreateColorMatrix(
        [
            factor, 0, 0, 0, 0,
            0, factor, 0, 0, 0,
            0, 0, factor, 0, 0,
            0, 0, 0, 1, 0,
        ]),
    };

    private static SKBitmap Draw(SKBitmap source, int width, int height, Action<SKCanvas, SKBitmap> draw)
    {
        var target = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var canvas = new SKCanvas(target);
        canvas.Clear(SKColors.White);
        draw(canvas, source);
        return target;
    }

    /// <summary>Cuts <paramref name="margin"/> of the width and height from each side.</summary>
    private static SKBitmap Crop(SKBitmap source, float margin)
    {
        var dx = (int)(source.Width * margin);
        var dy = (int)(source.Height * margin);
        return Draw(source, source.Width - (2 * dx), source.Height - (2 * dy), (c, b) => c.DrawBitmap(b, -dx, -dy));
    }

    /// <summary>A quarter turn counter-clockwise: EXIF orientation 6 ("rotate 90° clockwise to display") undoes it.</summary>
    private static SKBitmap RotateCounterClockwise(SKBitmap source) => Draw(source, source.Height, source.Width, (c, b) =>
    {
        c.Translate(0, b.Width);
        c.RotateDegrees(-90);
        c.DrawBitmap(b, 0, 0);
    });

    private static byte[] Encode(SKBitmap bitmap, int quality)
    {
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, quality);
        return data.ToArray();
    }

    /// <summary>Inserts an EXIF APP1 segment with one Orientation (0x0112) entry right after the JPEG's SOI marker.</summary>
    private static byte[] WithOrientation(byte[] jpeg, ushort orientation)
    {
        var tiff = new byte[26];
        "II*\0"u8.CopyTo(tiff);
        BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(4), 8); // first IFD right after the header
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(8), 1); // one entry
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(10), 0x0112); // Orientation
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(12), 3); // SHORT
        BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(14), 1); // one value
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(18), orientation);
        BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(22), 0); // no next IFD

        var app1 = new byte[2 + 2 + 6 + tiff.Length];
        app1[0] = 0xFF;
        app1[1] = 0xE1;
        BinaryPrimitives.WriteUInt16BigEndian(app1.AsSpan(2), (ushort)(2 + 6 + tiff.Length));
        "Exif\0\0"u8.CopyTo(app1.AsSpan(4));
        tiff.CopyTo(app1.AsSpan(10));
        return [.. jpeg.AsSpan(0, 2), .. app1, .. jpeg.AsSpan(2)];
    }
}
