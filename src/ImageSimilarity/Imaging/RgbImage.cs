namespace ImageSimilarity.Imaging;

/// <summary>
/// An opaque 8-bit RGB image, pixels interleaved row by row. Pixels take 3 bytes (RGB) or 4 (RGB plus an unused
/// fourth byte, as decoded), so a decoded RGBA buffer is used as it is instead of being copied to RGB.
/// </summary>
internal sealed class RgbImage
{
    public RgbImage(int width, int height, int bytesPerPixel = 3)
        : this(width, height, GC.AllocateUninitializedArray<byte>(checked(width * height * bytesPerPixel)), bytesPerPixel)
    {
    }

    public RgbImage(int width, int height, byte[] pixels, int bytesPerPixel = 3)
    {
        if (bytesPerPixel is not (3 or 4))
        {
            throw new ArgumentOutOfRangeException(nameof(bytesPerPixel), bytesPerPixel, "Pixels take 3 or 4 bytes.");
        }

        if (pixels.Length != width * height * bytesPerPixel)
        {
            throw new ArgumentException("Pixel buffer size does not match the dimensions.", nameof(pixels));
        }

        Width = width;
        Height = height;
        Pixels = pixels;
        BytesPerPixel = bytesPerPixel;
    }

    public int Width { get; }

    public int Height { get; }

    public byte[] Pixels { get; }

    /// <summary>Gets 3 (RGB) or 4 (RGB and an unused byte).</summary>
    public int BytesPerPixel { get; }

    public int Stride => Width * BytesPerPixel;
}
