namespace ImageSimilarity.Imaging;

/// <summary>A network input made from one image: channels x height x width floats in CHW order.</summary>
public sealed class PreprocessedImage
{
    /// <summary>Initializes a new instance of the <see cref="PreprocessedImage"/> class.</summary>
    /// <param name="name">The name of the source image.</param>
    /// <param name="data">The CHW data; its length must be <paramref name="channels"/> x <paramref name="height"/> x <paramref name="width"/>.</param>
    /// <param name="channels">The channel count.</param>
    /// <param name="height">The height in pixels.</param>
    /// <param name="width">The width in pixels.</param>
    /// <exception cref="ArgumentException"><paramref name="data"/> has the wrong length.</exception>
    public PreprocessedImage(string name, float[] data, int channels, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        if (data.Length != (long)channels * height * width)
        {
            throw new ArgumentException($"Expected {channels}x{height}x{width} = {(long)channels * height * width} floats, got {data.Length}.", nameof(data));
        }

        Name = name;
        Data = data;
        Channels = channels;
        Height = height;
        Width = width;
    }

    /// <summary>Gets the name of the source image.</summary>
    public string Name { get; }

    /// <summary>Gets the CHW data.</summary>
    public ReadOnlyMemory<float> Data { get; }

    /// <summary>Gets the channel count (3).</summary>
    public int Channels { get; }

    /// <summary>Gets the height in pixels (224).</summary>
    public int Height { get; }

    /// <summary>Gets the width in pixels (224).</summary>
    public int Width { get; }
}
