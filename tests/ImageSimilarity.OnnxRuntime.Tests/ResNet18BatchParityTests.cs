using ImageSimilarity.Imaging;
using ImageSimilarity.TestSupport;
using Microsoft.ML.OnnxRuntime;
using Xunit.Abstractions;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>
/// The library's batched ResNet18 (edited graph with a dynamic batch, mean image subtracted in C#) against the
/// package's two unmodified files run as ML.NET runs them: one image at a time, RGB 0-255 through
/// ResNetPreprocess.onnx, then ResNet18.onnx.
/// </summary>
public sealed class ResNet18BatchParityTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task ExtractAsync_Batched_MatchesUnmodifiedPackageFilesOneByOne()
    {
        var files = SeedImages.Files;
        var directory = ResNet18Model.FindModelDirectory();
        using var extractor = await ResNet18Model.LoadAsync(new OnnxExtractorOptions { BatchSize = 8 });
        Assert.True(extractor.BatchMadeDynamic);
        var batched = await extractor.ExtractAsync(files.Select(ImageInput.FromFile).ToList());

        // RGB 0-255 after the same resize and crop: the input ML.NET's pipeline hands to ResNetPreprocess.onnx.
        var rgb = new OnnxImagePreprocessor(new OnnxModelSpec { PixelScale = 1, Mean = [0, 0, 0], Std = [1, 1, 1] });
        using var prep = new InferenceSession(Path.Combine(directory, ResNet18Model.PreprocessFile));
        using var net = new InferenceSession(Path.Combine(directory, ResNet18Model.ModelFile));
        double worst = 0;
        for (var i = 0; i < files.Length; i++)
        {
            var input = rgb.Preprocess(ImageInput.FromFile(files[i])).Data.ToArray();
            using var inValue = OrtValue.CreateTensorValueFromMemory(input, [1, 3, 224, 224]);
            using var runOptions = new RunOptions();
            using var prepared = prep.Run(runOptions, ["OriginalInput"], [inValue], ["PreprocessedInput"]);
            using var features = net.Run(runOptions, ["Input247"], [prepared[0]], ["Pooling395_Output_0"]);
            var reference = features[0].GetTensorDataAsSpan<float>().ToArray();
            Assert.Equal(512, reference.Length);
            Assert.Equal(512, batched[i].Length);
            double scale = reference.Max(Math.Abs);
            Assert.True(scale > 0, "The reference vector is all zeros.");
            var err = reference.Zip(batched[i], (r, b) => Math.Abs(r - b)).Max() / scale;
            worst = Math.Max(worst, err);
        }

        output.WriteLine($"max |batched - reference| / max |reference| over {files.Length} images: {worst:E2}");
        Assert.True(worst <= 1e-5, $"max relative error {worst:E2} > 1e-5");
    }
}
