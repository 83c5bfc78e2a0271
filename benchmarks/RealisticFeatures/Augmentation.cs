using System.Globalization;
using SkiaSharp;

namespace ImageSimilarity.RealisticFeatures;

/// <summary>
/// One random augmentation of a seed image: a crop of 60-100 % of the area (aspect 3:4 to 4:3), an optional
/// horizontal flip, a rescale (the result's shorter side 160-640 px, so both down- and up-sampling happen before the
/// model's own resize to 256), brightness, contrast and saturation changes, and JPEG re-encoding at quality 70-95.
/// </summary>
/// <remarks>Drawn from a <see cref="Random"/> seeded by (generator seed, row), so a row is the same whatever the threading.</remarks>
internal sealed record Augmentation(
    int CropX,
    int CropY,
    int CropWidth,
    int CropHeight,
    bool Flip,
    int Width,
    int Height,
    float Brightness,
    float Contrast,
    float Saturation,
    int JpegQuality)
{
    public const double MinimumArea = 0.6;

    public static Augmentation Draw(int sourceWidth, int sourceHeight, Random random)
    {
        var area = MinimumArea + (random.NextDouble() * (1 - MinimumArea));
        var aspect = Math.Exp(Math.Log(0.75) + (random.NextDouble() * (Math.Log(4.0 / 3) - Math.Log(0.75))));
        // A crop of the requested area and aspect, shrunk to fit inside the image (area then stays >= 60 % only
        // while neither side is clamped; a clamped side keeps the whole extent of the image on that axis).
        var w = (int)Math.Clamp(Math.Round(Math.Sqrt(area * aspect) * sourceWidth), 16, sourceWidth);
        var h = (int)Math.Clamp(Math.Round(area * sourceWidth * sourceHeight / w), 16, sourceHeight);
        var x = random.Next(sourceWidth - w + 1);
        var y = random.Next(sourceHeight - h + 1);
        var flip = random.Next(2) == 1;
        var shorter = 160 + random.Next(481);
        var scale = (double)shorter / Math.Min(w, h);
        var outW = Math.Max(16, (int)Math.Round(w * scale));
        var outH = Math.Max(16, (int)Math.Round(h * scale));
        var brightness = (float)((random.NextDouble() - 0.5) * 0.4);
        var contrast = (float)(0.7 + (random.NextDouble() * 0.6));
        var saturation = (float)(0.6 + (random.NextDouble() * 0.8));
        var quality = 70 + random.Next(26);
        return new Augmentation(x, y, w, h, flip, outW, outH, brightness, contrast, saturation, quality);
    }

    /// <summary>Applies the augmentation to a decoded seed image and encodes the result as JPEG.</summary>
    public byte[] ApplyAsJpeg(SKImage source)
    {
        // Colour matrix on values in 0-1 (SkiaSharp's translation column is also in 0-1): saturation around the
        // Rec. 709 luma, then contrast around mid-grey, then brightness as an offset.
        const float R = 0.2126f, G = 0.7152f, B = 0.0722f;
        float s = Saturation, c = Contrast;
        float sr = (1 - s) * R, sg = (1 - s) * G, sb = (1 - s) * B;
        var offset = Brightness + ((1 - c) / 2);
        float[] matrix =
        [
            c * (sr + s), c * sg, c * sb, 0, offset,
            c * sr, c * (sg + s), c * sb, 0, offset,
            c * sr, c * sg, c * (sb + s), 0, offset,
            0, 0, 0, 1, 0,
        ];

        using var surface = SKSurface.Create(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        if (Flip)
        {
            canvas.Translate(Width, 0);
            canvas.Scale(-1, 1);
        }

        using var paint = new SKPaint { ColorFilter = SKColorFilter.CreateColorMatrix(matrix) };
        // Mipmaps make strong downscales average like an antialiased resize instead of skipping pixels.
        var sampling = new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear);
        canvas.DrawImage(source, SKRect.Create(CropX, CropY, CropWidth, CropHeight), SKRect.Create(0, 0, Width, Height), sampling, paint);
        using var snapshot = surface.Snapshot();
        using var data = snapshot.Encode(SKEncodedImageFormat.Jpeg, JpegQuality);
        return data.ToArray();
    }

    public string Describe() => string.Create(
        CultureInfo.InvariantCulture,
        $"crop {CropX},{CropY} {CropWidth}x{CropHeight}{(Flip ? " flip" : string.Empty)} -> {Width}x{Height} b{Brightness:+0.000;-0.000} c{Contrast:0.000} s{Saturation:0.000} q{JpegQuality}");
}
