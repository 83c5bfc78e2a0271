using ImageSimilarity.Storage;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using SearchByImage.Shared;
using SkiaSharp;

namespace SearchByImage.Web.Services;

/// <summary>
/// Serves the images of the index: only records found in the store by id, at the path the indexer recorded (never a
/// path from the request). Thumbnails are made on first use and kept in a size-bounded memory cache.
/// </summary>
internal sealed class ImageFiles(IVectorStore store, IMemoryCache cache, IOptions<WebAppOptions> options, ILogger<ImageFiles> logger)
{
    /// <summary>Largest image a thumbnail is made from (pixels), as the library's decoder default.</summary>
    private const long MaxSourcePixels = 100_000_000;

    /// <summary>Finds the file of a stored image.</summary>
    /// <returns>The file, or <see langword="null"/> when the id is not in the index or the file is gone.</returns>
    public async Task<StoredImage?> FindAsync(string id, CancellationToken cancellationToken)
    {
        var record = await store.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (record is null || !record.Metadata.TryGetValue(RecordMetadata.Path, out var path) || !File.Exists(path))
        {
            return null;
        }

        var info = new FileInfo(path);
        var tag = record.Metadata.TryGetValue(RecordMetadata.Sha256, out var sha) && sha.Length >= 16
            ? $"\"{sha[..16]}-{info.Length:x}-{info.LastWriteTimeUtc.Ticks:x}\""
            : $"\"{info.Length:x}-{info.LastWriteTimeUtc.Ticks:x}\"";
        return new StoredImage(id, path, tag, new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero));
    }

    /// <summary>Gets the content type of an image file from its first bytes, or <see langword="null"/> when it is not an image.</summary>
    public static async Task<string?> SniffContentTypeAsync(string path, CancellationToken cancellationToken)
    {
        var head = new byte[12];
        await using var stream = File.OpenRead(path);
        var read = await stream.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        return SniffContentType(head.AsSpan(0, read));
    }

    internal static string? SniffContentType(ReadOnlySpan<byte> head) => head switch
    {
        [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
        [0x89, (byte)'P', (byte)'N', (byte)'G', ..] => "image/png",
        [(byte)'G', (byte)'I', (byte)'F', (byte)'8', ..] => "image/gif",
        [(byte)'B', (byte)'M', ..] => "image/bmp",
        [(byte)'R', (byte)'I', (byte)'F', (byte)'F', _, _, _, _, (byte)'W', (byte)'E', (byte)'B', (byte)'P', ..] => "image/webp",
        _ => null,
    };

    /// <summary>Gets the JPEG thumbnail of a stored image, or <see langword="null"/> when the file cannot be decoded.</summary>
    public async Task<byte[]?> GetThumbnailAsync(StoredImage image, CancellationToken cancellationToken)
    {
        var key = "thumb:" + image.ETag + ":" + image.Id;
        if (cache.TryGetValue(key, out byte[]? cached))
        {
            return cached;
        }

        var bytes = await File.ReadAllBytesAsync(image.Path, cancellationToken).ConfigureAwait(false);
        var thumbnail = await Task.Run(() => MakeThumbnail(bytes, options.Value.ThumbnailSize), cancellationToken).ConfigureAwait(false);
        if (thumbnail is null)
        {
            logger.LogWarning("Cannot make a thumbnail of {Id}: the file {FileName} does not decode", image.Id, Path.GetFileName(image.Path));
            return null;
        }

        cache.Set(key, thumbnail, new MemoryCacheEntryOptions { Size = thumbnail.Length, SlidingExpiration = TimeSpan.FromMinutes(30) });
        return thumbnail;
    }

    /// <summary>Decodes by content, applies the EXIF orientation, scales so the longer side is at most <paramref name="maxSide"/>, encodes JPEG.</summary>
    internal static byte[]? MakeThumbnail(byte[] encoded, int maxSide)
    {
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data);
        if (codec is null || (long)codec.Info.Width * codec.Info.Height > MaxSourcePixels)
        {
            return null;
        }

        // Let the codec downscale while decoding (JPEG decodes at 1/2, 1/4, 1/8 cheaply), then finish with a filter.
        var full = codec.Info;
        var wanted = Math.Min(1f, (float)maxSide / Math.Max(full.Width, full.Height));
        var decodeSize = codec.GetScaledDimensions(Math.Min(1f, wanted * 2));
        var decodeInfo = new SKImageInfo(decodeSize.Width, decodeSize.Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var decoded = new SKBitmap(decodeInfo);
        var result = codec.GetPixels(decodeInfo, decoded.GetPixels());
        if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
        {
            return null;
        }

        var origin = codec.EncodedOrigin;
        var swap = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        int srcW = decodeInfo.Width, srcH = decodeInfo.Height;
        int uprightW = swap ? srcH : srcW, uprightH = swap ? srcW : srcH;
        var scale = Math.Min(1f, (float)maxSide / Math.Max(uprightW, uprightH));
        int w = Math.Max(1, (int)MathF.Round(uprightW * scale)), h = Math.Max(1, (int)MathF.Round(uprightH * scale));
        using var surface = SKSurface.Create(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        canvas.Scale((float)w / uprightW, (float)h / uprightH);
        canvas.Concat(ExifOrientation.UprightMatrix(origin, srcW, srcH));
        using var image = SKImage.FromBitmap(decoded);
        canvas.DrawImage(image, 0, 0, new SKSamplingOptions(SKCubicResampler.Mitchell));
        canvas.Flush();
        using var snapshot = surface.Snapshot();
        using var jpeg = snapshot.Encode(SKEncodedImageFormat.Jpeg, 82);
        return jpeg.ToArray();
    }
}

/// <summary>A stored image's file.</summary>
/// <param name="Id">The record id.</param>
/// <param name="Path">The file path recorded by the indexer.</param>
/// <param name="ETag">An entity tag from the content hash, size and write time.</param>
/// <param name="LastModified">The file's last write time.</param>
internal sealed record StoredImage(string Id, string Path, string ETag, DateTimeOffset LastModified);
