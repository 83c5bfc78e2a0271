using SkiaSharp;

namespace ImageSimilarity.PgVector.Benchmarks;

/// <summary>Random crop (50-100% of the area), horizontal flip, scale (0.5-1.5x) and colour jitter (brightness, contrast, saturation) of a real image, as JPEG.</summary>
internal static class Augment
{
    public static byte[] Jpeg(SKBitmap source, Random random)
    {
        var area = 0.5 + (random.NextDouble() * 0.5);
        var aspect = 0.75 + (random.NextDouble() * 0.5);
        var w = (int)Math.Clamp(Math.Sqrt(area * aspect) * source.Width, 16, source.Width);
        var h = (int)Math.Clamp(Math.Sqrt(area / aspect) * source.Height, 16, source.Height);
        var x = random.Next(source.Width - w + 1);
        var y = random.Next(source.Height - h + 1);
        var scale = 0.5 + random.NextDouble();
        var outW = Math.Max(32, (int)(w * scale));
        var outH = Math.Max(32, (int)(h * scale));

        var brightness = (float)((random.NextDouble() - 0.5) * 0.4);
        var contrast = (float)(0.7 + (random.NextDouble() * 0.6));
        var saturation = (float)(0.6 + (random.NextDouble() * 0.8));
        const float R = 0.2126f, G = 0.7152f, B = 0.0722f;
        float sr = (1 - saturation) * R, sg = (1 - saturation) * G, sb = (1 - saturation) * B;
        float[] matrix =
        [
            contrast * (sr + saturation), contrast * sg, contrast * sb, 0, brightness + ((1 - contrast) / 2),
            contrast * sr, contrast * (sg + saturation), contrast * sb, 0, brightness + ((1 - contrast) / 2),
            contrast * sr, contrast * sg, contrast * (sb + saturation), 0, brightness + ((1 - contrast) / 2),
            0, 0, 0, 1, 0,
        ];

        using var surface = SKSurface.Create(new SKImageInfo(outW, outH, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        if (random.Next(2) == 1)
        {
            canvas.Translate(outW, 0);
            canvas.Scale(-1, 1);
        }

        using var paint = new SKPaint { ColorFilter = SKColorFilter.CreateColorMatrix(matrix) };
        using var image = SKImage.FromBitmap(source);
        canvas.DrawImage(image, SKRect.Create(x, y, w, h), SKRect.Create(0, 0, outW, outH), new SKSamplingOptions(SKFilterMode.Linear), paint);
        using var snapshot = surface.Snapshot();
        using var data = snapshot.Encode(SKEncodedImageFormat.Jpeg, 88);
        return data.ToArray();
    }
}
