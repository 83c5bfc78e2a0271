using SkiaSharp;

namespace ImageSimilarity.Benchmarks;

/// <summary>Seeded synthetic photos (gradients, shapes, fine noise) encoded as JPEG, at the benchmark sizes.</summary>
internal static class BenchmarkImages
{
    /// <summary>Width and height of each size preset: a thumbnail, a typical web photo and a 12-megapixel camera photo.</summary>
    public static (int Width, int Height) Size(string preset) => preset switch
    {
        "small" => (320, 240),
        "typical" => (1024, 768),
        "12MP" => (4000, 3000),
        _ => throw new ArgumentException($"Unknown size preset '{preset}' (small, typical, 12MP).", nameof(preset)),
    };

    public static byte[] Jpeg(string preset, int seed = 5) => Jpeg(Size(preset).Width, Size(preset).Height, seed);

    public static byte[] Jpeg(int width, int height, int seed)
    {
        var random = new Random(seed);
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using (var canvas = new SKCanvas(bitmap))
        {
            using var gradient = new SKPaint
            {
                Shader = SKShader.CreateLinearGradient(
                    new SKPoint(0, 0), new SKPoint(width, height), [new SKColor(30, 90, 160), new SKColor(230, 200, 120)], SKShaderTileMode.Clamp),
            };
            canvas.DrawRect(0, 0, width, height, gradient);
            using var paint = new SKPaint { IsAntialias = true };
            for (var i = 0; i < 40; i++)
            {
                paint.Color = new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256), 200);
                var r = (float)(random.NextDouble() * Math.Min(width, height) / 5);
                canvas.DrawCircle((float)random.NextDouble() * width, (float)random.NextDouble() * height, r, paint);
            }
        }

        // Fine noise so the JPEG carries realistic detail (a camera photo is not a flat gradient).
        var pixels = bitmap.GetPixelSpan();
        var noise = new byte[pixels.Length];
        random.NextBytes(noise);
        var span = System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(pixels), pixels.Length);
        for (var i = 0; i < span.Length; i++)
        {
            if ((i & 3) != 3)
            {
                span[i] = (byte)Math.Clamp(span[i] + ((noise[i] & 15) - 8), 0, 255);
            }
        }

        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }
}
