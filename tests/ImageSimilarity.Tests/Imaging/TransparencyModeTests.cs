using ImageSimilarity.TestSupport;

namespace ImageSimilarity.Imaging;

public sealed class TransparencyModeTests
{
    // A 2x1 RGBA PNG: a fully transparent pixel that stores (10, 200, 30) and a half-transparent (250, 5, 100).
    private static readonly byte[] Png = TestImages.Png(2, 1, 8, 6, [0, 10, 200, 30, 0, 250, 5, 100, 128]);

    [Fact]
    public void Decode_Ignore_KeepsTheStoredColoursOfTransparentPixels()
    {
        var kept = ImageDecoder.Decode(Png, "a.png", new ImageDecoderOptions { Transparency = TransparencyMode.Ignore });
        var composited = ImageDecoder.Decode(Png, "a.png", ImageDecoderOptions.Default);

        Assert.Equal([10, 200, 30], kept.Pixels[0..3]);
        Assert.Equal([250, 5, 100], kept.Pixels[kept.BytesPerPixel..(kept.BytesPerPixel + 3)]);
        Assert.Equal([255, 255, 255], composited.Pixels[0..3]);
        Assert.Equal([252, 130, 177], composited.Pixels[composited.BytesPerPixel..(composited.BytesPerPixel + 3)]);
    }

    [Fact]
    public void KerasCaffePreset_DropsAlphaWhateverTheDecoderOptionsSay_TorchvisionComposites()
    {
        var options = new ImageDecoderOptions { MaxPixels = 1_000, Background = RgbColor.Black };
        var keras = new ImagePreprocessor(PreprocessingPreset.KerasCaffe, options);
        Assert.Equal(TransparencyMode.Ignore, keras.DecoderOptions.Transparency);
        Assert.False(keras.DecoderOptions.ApplyExifOrientation);
        Assert.Equal(1_000, keras.DecoderOptions.MaxPixels);
        Assert.Same(options, new ImagePreprocessor(PreprocessingPreset.Torchvision, options).DecoderOptions);

        // Nearest resize of 2x1 to 224x224: the left half is the transparent pixel's stored colour, as BGR minus means.
        var x = keras.Preprocess(ImageInput.FromBytes(Png, "a.png")).Data.Span;
        const int plane = 224 * 224;
        Assert.Equal(30 - 103.939f, x[0], 3);
        Assert.Equal(200 - 116.779f, x[plane], 3);
        Assert.Equal(10 - 123.68f, x[2 * plane], 3);
    }
}
