using SkiaSharp;

namespace ImageSimilarity.Imaging;

/// <summary>
/// Decodes JPEG, PNG, WebP, GIF (first frame) and BMP by content with SkiaSharp into opaque RGB: EXIF orientation
/// applied (optional), transparency composited over a background colour or dropped (<see cref="TransparencyMode"/>), and
/// oversized images refused from their header.
/// </summary>
/// <remarks>
/// No colour management is applied (embedded ICC profiles are ignored), as Pillow does; this keeps pixel values
/// identical to the Python reference pipelines the presets reproduce.
/// </remarks>
internal static class ImageDecoder
{
    public static RgbImage Decode(ReadOnlySpan<byte> encoded, string name, ImageDecoderOptions options)
    {
        if (encoded.IsEmpty)
        {
            throw new ImageDecodeException(name, ImageDecodeError.EmptyFile, "the file is empty (0 bytes)");
        }

        using var data = SKData.CreateCopy(encoded);
        var stream = new SKMemoryStream(data);
        using var codec = SKCodec.Create(stream, out var createResult);
        if (codec is null)
        {
            stream.Dispose();
            var known = SniffFormat(encoded);
            if (known is null)
            {
                throw new ImageDecodeException(name, ImageDecodeError.UnknownFormat, $"the content is not a recognised image format (starts with {Hex(encoded)})");
            }

            throw new ImageDecodeException(name, ImageDecodeError.Corrupt, $"the {known} header is truncated or corrupt ({createResult})");
        }

        var info = codec.Info;
        var pixelCount = (long)info.Width * info.Height;
        if (info.Width <= 0 || info.Height <= 0)
        {
            throw new ImageDecodeException(name, ImageDecodeError.Corrupt, $"the header announces an invalid size {info.Width}x{info.Height}");
        }

        if (pixelCount > options.MaxPixels)
        {
            throw new ImageDecodeException(name, ImageDecodeError.TooLarge, $"the header announces {info.Width}x{info.Height} = {pixelCount:N0} pixels, more than the limit of {options.MaxPixels:N0}");
        }

        var rgbaInfo = new SKImageInfo(info.Width, info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = GC.AllocateUninitializedArray<byte>(checked(info.Width * info.Height * 4));
        SKCodecResult result;
        unsafe
        {
            fixed (byte* p = rgba)
            {
                result = codec.GetPixels(rgbaInfo, (IntPtr)p, new SKCodecOptions(0));
            }
        }

        if (result is not (SKCodecResult.Success))
        {
            var what = result == SKCodecResult.IncompleteInput ? "the image data is truncated" : $"the image data is corrupt ({result})";
            throw new ImageDecodeException(name, ImageDecodeError.Corrupt, what);
        }

        // Unpremultiplied decoding keeps the colour that transparent pixels store, so ignoring alpha is Pillow's convert('RGB').
        var rgb = options.Transparency == TransparencyMode.Ignore
            ? new RgbImage(info.Width, info.Height, rgba, bytesPerPixel: 4)
            : Composite(rgba, info.Width, info.Height, info.AlphaType != SKAlphaType.Opaque, options.Background);
        return options.ApplyExifOrientation ? Orient(rgb, codec.EncodedOrigin) : rgb;
    }

    /// <summary>
    /// Composites transparent pixels over <paramref name="background"/> in place, with Pillow's <c>alpha_composite</c>
    /// integer maths (7 fractional bits, rounded division by 255), so results match the reference bit for bit. The
    /// buffer then serves as an RGB image with 4 bytes per pixel (the alpha byte is no longer read).
    /// </summary>
    private static RgbImage Composite(byte[] rgba, int width, int height, bool hasAlpha, RgbColor background)
    {
        if (hasAlpha)
        {
            for (var s = 0; s < rgba.Length; s += 4)
            {
                int a = rgba[s + 3];
                if (a != 255)
                {
                    rgba[s] = Blend(rgba[s], background.R, a);
                    rgba[s + 1] = Blend(rgba[s + 1], background.G, a);
                    rgba[s + 2] = Blend(rgba[s + 2], background.B, a);
                }
            }
        }

        return new RgbImage(width, height, rgba, bytesPerPixel: 4);
    }

    private static byte Blend(int src, int bg, int alpha)
    {
        var tmp = ((src * alpha) + (bg * (255 - alpha))) * 128 + (0x80 << 7);
        return (byte)((((tmp >> 8) + tmp) >> 8) >> 7);
    }

    /// <summary>Applies an EXIF orientation, with the same transposes as Pillow's <c>ImageOps.exif_transpose</c>.</summary>
    internal static RgbImage Orient(RgbImage src, SKEncodedOrigin origin)
    {
        if (origin is SKEncodedOrigin.TopLeft or (SKEncodedOrigin)0)
        {
            return src;
        }

        int w = src.Width, h = src.Height;
        var swap = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        int ow = swap ? h : w, oh = swap ? w : h;
        var bpp = src.BytesPerPixel;
        var dst = new RgbImage(ow, oh, bpp);
        var s = src.Pixels;
        var d = dst.Pixels;
        for (var y = 0; y < oh; y++)
        {
            for (var x = 0; x < ow; x++)
            {
                (var sx, var sy) = origin switch
                {
                    SKEncodedOrigin.TopRight => (w - 1 - x, y),            // 2: mirror left-right
                    SKEncodedOrigin.BottomRight => (w - 1 - x, h - 1 - y), // 3: rotate 180
                    SKEncodedOrigin.BottomLeft => (x, h - 1 - y),          // 4: mirror top-bottom
                    SKEncodedOrigin.LeftTop => (y, x),                     // 5: transpose
                    SKEncodedOrigin.RightTop => (y, h - 1 - x),            // 6: rotate 90 clockwise
                    SKEncodedOrigin.RightBottom => (w - 1 - y, h - 1 - x), // 7: transverse
                    SKEncodedOrigin.LeftBottom => (w - 1 - y, x),          // 8: rotate 90 counter-clockwise
                    _ => (x, y),
                };
                int si = ((sy * w) + sx) * bpp, di = ((y * ow) + x) * bpp;
                d[di] = s[si];
                d[di + 1] = s[si + 1];
                d[di + 2] = s[si + 2];
            }
        }

        return dst;
    }

    private static string? SniffFormat(ReadOnlySpan<byte> b)
    {
        if (b.Length >= 2 && b[0] == 0xFF && b[1] == 0xD8)
        {
            return "JPEG";
        }

        if (b.Length >= 4 && b[0] == 0x89 && b[1] == (byte)'P' && b[2] == (byte)'N' && b[3] == (byte)'G')
        {
            return "PNG";
        }

        if (b.Length >= 4 && b[0] == (byte)'G' && b[1] == (byte)'I' && b[2] == (byte)'F' && b[3] == (byte)'8')
        {
            return "GIF";
        }

        if (b.Length >= 4 && b[0] == (byte)'R' && b[1] == (byte)'I' && b[2] == (byte)'F' && b[3] == (byte)'F')
        {
            return "WebP";
        }

        if (b.Length >= 2 && b[0] == (byte)'B' && b[1] == (byte)'M')
        {
            return "BMP";
        }

        return null;
    }

    private static string Hex(ReadOnlySpan<byte> b) => Convert.ToHexString(b[..Math.Min(8, b.Length)]);
}
