using System.Text.Json;
using ImageSimilarity.TestSupport;
using Xunit.Abstractions;

namespace ImageSimilarity.Imaging;

/// <summary>Runs the Python reference once: it writes the test images and what torchvision/Keras make of them.</summary>
public sealed class PreprocessingReferenceFixture : IDisposable
{
    private readonly TempDirectory _dir = TestPaths.CreateTempDirectory("imgsim-preprocess-ref");
    private readonly Lazy<IReadOnlyList<ReferenceImage>> _images;

    public PreprocessingReferenceFixture()
    {
        _images = new Lazy<IReadOnlyList<ReferenceImage>>(Generate);
    }

    public string Folder => _dir.Path;

    public IReadOnlyList<ReferenceImage> Images => _images.Value;

    public void Dispose() => _dir.Dispose();

    private List<ReferenceImage> Generate()
    {
        PythonReference.Run("preprocess_reference.py", _dir.Path);
        using var manifest = JsonDocument.Parse(File.ReadAllText(_dir.Combine("manifest.json")));
        return manifest.RootElement.GetProperty("images").EnumerateArray()
            .Select(e => new ReferenceImage(
                _dir.Combine(e.GetProperty("file").GetString()!),
                e.GetProperty("format").GetString()!,
                e.GetProperty("lossless").GetBoolean()))
            .ToList();
    }
}

public sealed record ReferenceImage(string Path, string Format, bool Lossless)
{
    public string Name => System.IO.Path.GetFileName(Path);

    public float[] Expected(string preset)
    {
        var bytes = File.ReadAllBytes(Path + "." + preset + ".f32");
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }

    public override string ToString() => Name;
}

public sealed class PreprocessingParityTests : IClassFixture<PreprocessingReferenceFixture>
{
    private const int Plane = ImagePreprocessor.InputSize * ImagePreprocessor.InputSize;
    private readonly PreprocessingReferenceFixture _fixture;
    private readonly ITestOutputHelper _output;

    public PreprocessingParityTests(PreprocessingReferenceFixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _output = output;
    }

    [SkippableFact]
    public void Torchvision_LosslessImages_MatchPillowAndTorchvision()
    {
        PythonReference.RequireAvailable();
        var preprocessor = new ImagePreprocessor(PreprocessingPreset.Torchvision);
        double worstMax = 0, sumMean = 0;
        var count = 0;
        foreach (var image in _fixture.Images.Where(i => i.Lossless))
        {
            var (max, mean) = TorchvisionDifference(preprocessor, image);
            _output.WriteLine($"torchvision {image.Name,-36} max {max * 255:F3}/255  mean {mean * 255:F4}/255");
            // Below half a level everywhere: every value is the same 8-bit level as the reference's (what remains is
            // float rounding of undoing the normalisation), which is what the docs claim for lossless images.
            Assert.True(max < 0.5 / 255, $"{image.Name}: max abs difference {max * 255:F3}/255: some value is another 8-bit level than the reference's");
            worstMax = Math.Max(worstMax, max);
            sumMean += mean;
            count++;
        }

        Assert.True(count >= 15, "the reference wrote too few lossless images");
        _output.WriteLine($"torchvision lossless ({count} images): worst max {worstMax * 255:F3}/255, average mean {sumMean / count * 255:F4}/255");
    }

    [SkippableFact]
    public void KerasCaffe_LosslessImages_MatchExactly()
    {
        PythonReference.RequireAvailable();
        var preprocessor = new ImagePreprocessor(PreprocessingPreset.KerasCaffe);
        var count = 0;
        foreach (var image in _fixture.Images.Where(i => i.Lossless))
        {
            var actual = preprocessor.Preprocess(ImageInput.FromFile(image.Path)).Data.ToArray();
            var expected = image.Expected("keras-caffe");
            Assert.Equal(expected.Length, actual.Length);
            var mismatches = 0;
            for (var i = 0; i < expected.Length; i++)
            {
                if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                {
                    mismatches++;
                }
            }

            _output.WriteLine($"keras-caffe {image.Name,-36} mismatching values {mismatches}");
            Assert.True(mismatches == 0, $"{image.Name}: {mismatches} of {expected.Length} values differ from Keras' preprocessing");
            count++;
        }

        Assert.True(count >= 15, "the reference wrote too few lossless images");
    }

    [SkippableFact]
    public void LossyImages_DifferencesFromPillowAreSmall()
    {
        PythonReference.RequireAvailable();
        var torchvision = new ImagePreprocessor(PreprocessingPreset.Torchvision);
        var caffe = new ImagePreprocessor(PreprocessingPreset.KerasCaffe);
        foreach (var image in _fixture.Images.Where(i => !i.Lossless))
        {
            var (max, mean) = TorchvisionDifference(torchvision, image);
            var actual = caffe.Preprocess(ImageInput.FromFile(image.Path)).Data.ToArray();
            var expected = image.Expected("keras-caffe");
            double cMax = 0, cSum = 0;
            for (var i = 0; i < expected.Length; i++)
            {
                double d = Math.Abs(expected[i] - actual[i]);
                cMax = Math.Max(cMax, d);
                cSum += d;
            }

            var cMean = cSum / expected.Length;
            _output.WriteLine($"{image.Format,-5} {image.Name,-32} torchvision max {max * 255:F2}/255 mean {mean * 255:F4}/255 | keras-caffe max {cMax:F1} mean {cMean:F4} (0-255 scale)");

            // Different decoders (SkiaSharp's libjpeg-turbo/libwebp builds vs Pillow's) may round a few pixels
            // differently, but an orientation, colour-model or channel mistake shows up as large mean differences.
            Assert.True(mean <= 2.0 / 255, $"{image.Name}: torchvision mean abs difference {mean * 255:F3}/255 is too large");
            Assert.True(cMean <= 2.0, $"{image.Name}: keras-caffe mean abs difference {cMean:F3} is too large");
        }
    }

    private static (double Max, double Mean) TorchvisionDifference(ImagePreprocessor preprocessor, ReferenceImage image)
    {
        var actual = preprocessor.Preprocess(ImageInput.FromFile(image.Path)).Data.Span;
        var expected = image.Expected("torchvision");
        Assert.Equal(expected.Length, actual.Length);
        double max = 0, sum = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            double unit = ImagePreprocessor.TorchvisionToUnit(actual[i], i / Plane);
            var d = Math.Abs(unit - expected[i]);
            max = Math.Max(max, d);
            sum += d;
        }

        return (max, sum / expected.Length);
    }
}
