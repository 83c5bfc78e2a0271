using ImageSimilarity.Imaging;
using ImageSimilarity.TestSupport;

namespace ImageSimilarity.OnnxRuntime;

public sealed class OnnxFeatureExtractorTests
{
    private static readonly OnnxModelSpec Spec32 = new() { Name = "means", InputSize = 32, ResizeShorterSide = 36 };

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task ExtractAsync_FixedBatchModel_BatchedEqualsPreprocessedChannelMeans(bool reshape, bool nhwc)
    {
        using var temp = TestPaths.CreateTempDirectory("onnx-tiny");
        var path = temp.Combine("means.onnx");
        TinyModels.WriteChannelMeans(path, 32, batch: 1, reshape: reshape, nhwc: nhwc);
        var spec = new OnnxModelSpec { Name = "means", InputSize = 32, ResizeShorterSide = 36, Layout = nhwc ? TensorLayout.Nhwc : TensorLayout.Nchw };
        using var extractor = OnnxFeatureExtractor.Load(path, spec, new OnnxExtractorOptions { BatchSize = 4 });
        Assert.True(extractor.BatchMadeDynamic);
        Assert.Equal(3, extractor.Dimension);

        var images = Enumerable.Range(0, 7).Select(i => ImageInput.FromBytes(TestImagesPng(40 + (i * 7), 33 + (i * 5), i), $"img{i}.png")).ToList();
        var vectors = await extractor.ExtractAsync(images);
        Assert.Equal(7, vectors.Count);
        for (var i = 0; i < images.Count; i++)
        {
            var input = extractor.Preprocessor.Preprocess(images[i]).Data.Span;
            for (var c = 0; c < 3; c++)
            {
                double expected = 0;
                for (var p = 0; p < 32 * 32; p++)
                {
                    expected += input[(c * 32 * 32) + p];
                }

                Assert.Equal(expected / (32 * 32), vectors[i][c], 4);
            }
        }

        Assert.NotEqual(vectors[0], vectors[1]);
    }

    [Fact]
    public void Load_SameFileAndSpec_SameModelIdOtherPreprocessingDifferentId()
    {
        using var temp = TestPaths.CreateTempDirectory("onnx-tiny");
        var path = temp.Combine("means.onnx");
        TinyModels.WriteChannelMeans(path, 32);
        using var a = OnnxFeatureExtractor.Load(path, Spec32);
        using var b = OnnxFeatureExtractor.Load(path, Spec32);
        using var c = OnnxFeatureExtractor.Load(path, new OnnxModelSpec { Name = "means", InputSize = 32, ResizeShorterSide = 36, ChannelOrder = ChannelOrder.Bgr });
        Assert.Equal(a.ModelId, b.ModelId);
        Assert.NotEqual(a.ModelId, c.ModelId);
        Assert.StartsWith("means/onnx-", a.ModelId, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TextFile_ThrowsNotOnnxNamingTheFile()
    {
        using var temp = TestPaths.CreateTempDirectory("onnx-bad");
        var path = temp.Combine("model.onnx");
        File.WriteAllText(path, "this is not a model, just some text that happens to be here\n");
        var ex = Assert.Throws<OnnxModelException>(() => OnnxFeatureExtractor.Load(path, Spec32));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("is not an ONNX model", ex.Message, StringComparison.Ordinal);
        Assert.Equal(path, ex.ModelPath);
    }

    [Fact]
    public void Load_TruncatedModel_ThrowsNotOnnx()
    {
        using var temp = TestPaths.CreateTempDirectory("onnx-bad");
        var good = temp.Combine("good.onnx");
        TinyModels.WriteChannelMeans(good, 32);
        var bytes = File.ReadAllBytes(good);
        var path = temp.Combine("truncated.onnx");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var ex = Assert.Throws<OnnxModelException>(() => OnnxFeatureExtractor.Load(path, Spec32));
        Assert.Contains("is not an ONNX model", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_EmptyFile_ThrowsNotOnnx()
    {
        using var temp = TestPaths.CreateTempDirectory("onnx-bad");
        var path = temp.Combine("empty.onnx");
        File.WriteAllBytes(path, []);
        var ex = Assert.Throws<OnnxModelException>(() => OnnxFeatureExtractor.Load(path, Spec32));
        Assert.Contains("is not an ONNX model", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_ThrowsNamingThePath()
    {
        var path = Path.Combine(Path.GetTempPath(), "no-such-dir-" + Guid.NewGuid().ToString("N"), "model.onnx");
        var ex = Assert.Throws<OnnxModelException>(() => OnnxFeatureExtractor.Load(path, Spec32));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_WrongInputSize_ThrowsWithModelShapeAndSpec()
    {
        using var temp = TestPaths.CreateTempDirectory("onnx-bad");
        var path = temp.Combine("299.onnx");
        TinyModels.WriteChannelMeans(path, 299);
        var ex = Assert.Throws<OnnxModelException>(() => OnnxFeatureExtractor.Load(path, new OnnxModelSpec()));
        Assert.Contains("[1, 3, 299, 299]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("[N, 3, 224, 224] (NCHW)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("InputSize", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_WrongLayout_Throws()
    {
        using var temp = TestPaths.CreateTempDirectory("onnx-bad");
        var path = temp.Combine("nhwc.onnx");
        TinyModels.WriteChannelMeans(path, 32, nhwc: true);
        var ex = Assert.Throws<OnnxModelException>(() => OnnxFeatureExtractor.Load(path, Spec32));
        Assert.Contains("[1, 32, 32, 3]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnknownInputOrOutputName_ListsTheModelsNames()
    {
        using var temp = TestPaths.CreateTempDirectory("onnx-bad");
        var path = temp.Combine("means.onnx");
        TinyModels.WriteChannelMeans(path, 32);
        var input = Assert.Throws<OnnxModelException>(() => OnnxFeatureExtractor.Load(path, new OnnxModelSpec { InputSize = 32, ResizeShorterSide = 36, InputName = "data" }));
        Assert.Contains("no input named 'data'", input.Message, StringComparison.Ordinal);
        Assert.Contains("'x' [1, 3, 32, 32]", input.Message, StringComparison.Ordinal);
        var output = Assert.Throws<OnnxModelException>(() => OnnxFeatureExtractor.Load(path, new OnnxModelSpec { InputSize = 32, ResizeShorterSide = 36, OutputName = "fc7" }));
        Assert.Contains("no output named 'fc7'", output.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExtractAsync_PreprocessedOfWrongSize_ThrowsArgumentException()
    {
        using var temp = TestPaths.CreateTempDirectory("onnx-tiny");
        var path = temp.Combine("means.onnx");
        TinyModels.WriteChannelMeans(path, 32);
        using var extractor = OnnxFeatureExtractor.Load(path, Spec32);
        var wrong = new PreprocessedImage("big", new float[3 * 64 * 64], 3, 64, 64);
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => extractor.ExtractPreprocessedAsync([wrong]));
        Assert.Equal("images", ex.ParamName);
        Assert.Contains("3x32x32", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Spec_Invalid_ThrowsNamingTheProperty()
    {
        Assert.Equal("Std", Assert.Throws<ArgumentException>(() => new OnnxModelSpec { Std = [1, 0, 1] }.Validate()).ParamName);
        Assert.Equal("ResizeShorterSide", Assert.Throws<ArgumentException>(() => new OnnxModelSpec { ResizeShorterSide = 200 }.Validate()).ParamName);
        Assert.Equal("MeanImage", Assert.Throws<ArgumentException>(() => new OnnxModelSpec { MeanImage = new float[10] }.Validate()).ParamName);
        Assert.Equal("Name", Assert.Throws<ArgumentException>(() => new OnnxModelSpec { Name = "a/b" }.Validate()).ParamName);
    }

    private static byte[] TestImagesPng(int width, int height, int seed)
    {
        using var bitmap = new SkiaSharp.SKBitmap(width, height);
        var random = new Random(seed);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                bitmap.SetPixel(x, y, new SkiaSharp.SKColor((byte)((x * 5) + seed), (byte)(y * 7), (byte)random.Next(256)));
            }
        }

        using var image = SkiaSharp.SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
