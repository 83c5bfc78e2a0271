namespace ImageSimilarity.Imaging;

/// <summary>An opaque 8-bit RGB colour, used as the background that transparent pixels are composited over.</summary>
/// <param name="R">Red, 0-255.</param>
/// <param name="G">Green, 0-255.</param>
/// <param name="B">Blue, 0-255.</param>
public readonly record struct RgbColor(byte R, byte G, byte B)
{
    /// <summary>Gets white, the default background.</summary>
    public static RgbColor White => new(255, 255, 255);

    /// <summary>Gets black.</summary>
    public static RgbColor Black => new(0, 0, 0);
}
