using ImageSimilarity.TestSupport;
using SkiaSharp;

namespace ImageSimilarity.Imaging;

public sealed class ImageDecoderTests
{
    private static readonly ImagePreprocessor Torchvision = new(PreprocessingPreset.Torchvision);

    [Fact]
    public void Preprocess_EmptyFile_ThrowsEmptyFileNamingTheFile()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("empty.jpg");
        File.WriteAllBytes(path, []);

        var ex = Assert.Throws<ImageDecodeException>(() => Torchvision.Preprocess(ImageInput.FromFile(path)));

        Assert.Equal(ImageDecodeError.EmptyFile, ex.Error);
        Assert.Equal(path, ex.ImageName);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("empty", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData(SKEncodedImageFormat.Jpeg)]
    [InlineData(SKEncodedImageFormat.Png)]
    [InlineData(SKEncodedImageFormat.Webp)]
    public void Preprocess_TruncatedImage_ThrowsCorrupt(SKEncodedImageFormat format)
    {
        var full = TestImages.Encode(320, 240, format, quality: 90);
        var truncated = full.AsSpan(0, full.Length / 2).ToArray();

        var ex = Assert.Throws<ImageDecodeException>(() => Torchvision.Preprocess(ImageInput.FromBytes(truncated, "cut." + format)));

        Assert.Equal(ImageDecodeError.Corrupt, ex.Error);
        Assert.Contains("cut." + format, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Preprocess_TruncatedJpegHeader_ThrowsCorrupt()
    {
        var full = TestImages.Encode(64, 64, SKEncodedImageFormat.Jpeg);

        var ex = Assert.Throws<ImageDecodeException>(() => Torchvision.Preprocess(ImageInput.FromBytes(full.AsMemory(0, 20), "head.jpg")));

        Assert.Equal(ImageDecodeError.Corrupt, ex.Error);
        Assert.Contains("JPEG", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Preprocess_TextFileNamedJpg_ThrowsUnknownFormat()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("notes.jpg");
        File.WriteAllText(path, "These are my holiday notes, not a picture.\n");

        var ex = Assert.Throws<ImageDecodeException>(() => Torchvision.Preprocess(ImageInput.FromFile(path)));

        Assert.Equal(ImageDecodeError.UnknownFormat, ex.Error);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("JPEG, PNG, WebP, GIF and BMP", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { 0x49, 0x49, 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00 })] // TIFF
    [InlineData(new byte[] { 0x25, 0x50, 0x44, 0x46, 0x2D, 0x31, 0x2E, 0x34 })] // PDF
    [InlineData(new byte[] { 0x00, 0x00, 0x00, 0x1C, 0x66, 0x74, 0x79, 0x70, 0x68, 0x65, 0x69, 0x63 })] // HEIC
    public void Preprocess_UnsupportedFormat_ThrowsUnknownFormat(byte[] header)
    {
        var bytes = header.Concat(new byte[512]).ToArray();

        var ex = Assert.Throws<ImageDecodeException>(() => Torchvision.Preprocess(ImageInput.FromBytes(bytes, "odd.bin")));

        Assert.Equal(ImageDecodeError.UnknownFormat, ex.Error);
        Assert.Equal("odd.bin", ex.ImageName);
    }

    [Fact]
    public void Preprocess_PngAnnouncingTenGigapixels_IsRefusedFromHeaderWithoutAllocating()
    {
        // A valid PNG header announcing 100000 x 100000 RGBA pixels (40 GB decoded) with one tiny IDAT.
        var bomb = TestImages.Png(100_000, 100_000, 8, 6, new byte[64]);
        var before = GC.GetAllocatedBytesForCurrentThread();

        var ex = Assert.Throws<ImageDecodeException>(() => Torchvision.Preprocess(ImageInput.FromBytes(bomb, "bomb.png")));

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(ImageDecodeError.TooLarge, ex.Error);
        Assert.Contains("100000x100000", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MaxPixels", ex.Message, StringComparison.Ordinal);
        Assert.True(allocated < 1_000_000, $"refusing the header allocated {allocated:N0} bytes");
    }

    [Fact]
    public void Preprocess_ImageOverConfiguredLimit_ThrowsTooLarge()
    {
        var png = TestImages.Encode(300, 200, SKEncodedImageFormat.Png);
        var strict = new ImagePreprocessor(PreprocessingPreset.Torchvision, new ImageDecoderOptions { MaxPixels = 59_999 });

        var ex = Assert.Throws<ImageDecodeException>(() => strict.Preprocess(ImageInput.FromBytes(png, "big.png")));

        Assert.Equal(ImageDecodeError.TooLarge, ex.Error);
        Assert.NotNull(new ImagePreprocessor(PreprocessingPreset.Torchvision, new ImageDecoderOptions { MaxPixels = 60_000 }).Preprocess(ImageInput.FromBytes(png)));
    }

    [Fact]
    public void Preprocess_MissingFile_ThrowsUnreadable()
    {
        var path = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N") + ".png");

        var ex = Assert.Throws<ImageDecodeException>(() => Torchvision.Preprocess(ImageInput.FromFile(path)));

        Assert.Equal(ImageDecodeError.Unreadable, ex.Error);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Preprocess_SixteenBitGrayscalePng_DecodesToTheHighByte()
    {
        const int w = 40, h = 30;
        var raw = new byte[h * (1 + (w * 2))];
        for (var y = 0; y < h; y++)
        {
            for (var x = 0; x < w; x++)
            {
                var o = (y * (1 + (w * 2))) + 1 + (x * 2);
                raw[o] = 200; // high byte
                raw[o + 1] = 0x10;
            }
        }

        var png = TestImages.Png(w, h, 16, 0, raw);
        var caffe = new ImagePreprocessor(PreprocessingPreset.KerasCaffe).Preprocess(ImageInput.FromBytes(png, "gray16.png"));

        // Flat grey 200: BGR channels minus the caffe means.
        Assert.Equal(200f - 103.939f, caffe.Data.Span[0], 3);
        Assert.Equal(200f - 123.68f, caffe.Data.Span[(2 * 224 * 224) + 500], 3);
    }

    [Fact]
    public async Task Preprocess_StreamAndBytesAndFile_GiveIdenticalResults()
    {
        var jpeg = TestImages.Encode(500, 375, SKEncodedImageFormat.Jpeg, quality: 85, seed: 5);
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("photo.png"); // wrong extension on purpose: decoding goes by content
        File.WriteAllBytes(path, jpeg);
        using var stream = new MemoryStream(jpeg);

        var fromFile = Torchvision.Preprocess(ImageInput.FromFile(path)).Data.ToArray();
        var fromBytes = Torchvision.Preprocess(ImageInput.FromBytes(jpeg)).Data.ToArray();
        var fromStream = (await Torchvision.PreprocessAsync(ImageInput.FromStream(stream, "s"))).Data.ToArray();

        Assert.Equal(fromFile, fromBytes);
        Assert.Equal(fromFile, fromStream);
    }

    [Fact]
    public void Decode_TransparentPixels_CompositeOverConfiguredBackground()
    {
        var png = TestImages.Encode(8, 8, SKEncodedImageFormat.Png, alpha: 0);

        var white = ImageDecoder.Decode(png, "clear.png", ImageDecoderOptions.Default);
        var black = ImageDecoder.Decode(png, "clear.png", new ImageDecoderOptions { Background = RgbColor.Black });

        for (var i = 0; i < white.Pixels.Length; i += white.BytesPerPixel)
        {
            Assert.Equal([255, 255, 255], white.Pixels[i..(i + 3)]);
            Assert.Equal([0, 0, 0], black.Pixels[i..(i + 3)]);
        }
    }

    [SkippableFact]
    public void Orient_EveryOrientation_PutsEveryPixelWherePillowsExifTransposeDoes()
    {
        PythonReference.RequireAvailable();
        using var json = System.Text.Json.JsonDocument.Parse(PythonReference.Run("orient_reference.py"));

        // Source 5 wide x 3 high (not square, so a wrong swap shows); pixel i has red = i.
        var src = new RgbImage(5, 3);
        for (var i = 0; i < 15; i++)
        {
            src.Pixels[i * 3] = (byte)i;
        }

        for (var orientation = 1; orientation <= 8; orientation++)
        {
            var expected = json.RootElement.GetProperty(orientation.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var dst = ImageDecoder.Orient(src, (SKEncodedOrigin)orientation);
            Assert.Equal((expected[0].GetInt32(), expected[1].GetInt32()), (dst.Width, dst.Height));
            var actual = Enumerable.Range(0, dst.Width * dst.Height).Select(i => (int)dst.Pixels[((i / dst.Width) * dst.Stride) + ((i % dst.Width) * dst.BytesPerPixel)]);
            Assert.Equal(expected[2].EnumerateArray().Select(e => e.GetInt32()), actual);
        }
    }

    [Fact]
    public void Options_InvalidMaxPixels_ThrowsWithParameterName()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new ImageDecoderOptions { MaxPixels = 0 });
        Assert.Equal("value", ex.ParamName);
    }

    [Fact]
    public void FromFile_EmptyPath_ThrowsWithParameterName()
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => ImageInput.FromFile(" "));
        Assert.Equal("path", ex.ParamName);
    }
}
