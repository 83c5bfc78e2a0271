using SearchByImage.Shared;
using SkiaSharp;

namespace SearchByImage.Rendering;

/// <summary>Loads an image file as an upright thumbnail (EXIF orientation applied) for sheets and HTML pages.</summary>
internal static class Thumbnails
{
    public static SKBitmap? Load(string path, int maxSide)
    {
        try
        {
            // Only regular files with content: a FIFO or device found at an indexed path must not hang or flood the render.
            var real = File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName ?? path;
            var info0 = new FileInfo(real);
            if (!info0.Exists || info0.Length == 0 || info0.Length > ImageSimilarity.Imaging.ImageDecoderOptions.DefaultMaxFileSize)
            {
                return null;
            }

            using var codec = SKCodec.Create(path);
            if (codec is null)
            {
                return null;
            }

            var info = codec.Info;
            if ((long)info.Width * info.Height > ImageSimilarity.Imaging.ImageDecoderOptions.DefaultMaxPixels)
            {
                return null;
            }

            using var full = new SKBitmap(new SKImageInfo(info.Width, info.Height, SKColorType.Rgba8888, SKAlphaType.Premul));
            var result = codec.GetPixels(full.Info, full.GetPixels());
            if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
            {
                return null;
            }

            // The upright size is where the orientation matrix maps the stored bounds (sides swap for 5 to 8).
            var orient = ExifOrientation.UprightMatrix(codec.EncodedOrigin, info.Width, info.Height);
            var upright = orient.MapRect(new SKRect(0, 0, info.Width, info.Height));
            int uprightW = (int)Math.Round(upright.Width), uprightH = (int)Math.Round(upright.Height);
            var scale = Math.Min(1f, (float)maxSide / Math.Max(uprightW, uprightH));
            int w = Math.Max(1, (int)(uprightW * scale)), h = Math.Max(1, (int)(uprightH * scale));
            var thumb = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul));
            using var canvas = new SKCanvas(thumb);
            canvas.Clear(SKColors.White);
            canvas.Scale(scale);
            canvas.Concat(orient);
            using var image = SKImage.FromBitmap(full);
            canvas.DrawImage(image, 0, 0, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
            return thumb;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }
}
