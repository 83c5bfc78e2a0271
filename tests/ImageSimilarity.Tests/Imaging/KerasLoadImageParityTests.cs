using ImageSimilarity.TestSupport;
using Xunit.Abstractions;

namespace ImageSimilarity.Imaging;

/// <summary>
/// The keras-caffe preset against Keras' own input pipeline run by Pillow (load_img: open, convert('RGB') when the mode
/// is not RGB, resize NEAREST to 224x224; preprocess_input 'caffe') on every image of the seed sample, including the
/// RGBA PNG/WebP and palette files whose transparent pixels store colours: the tensors must be identical.
/// </summary>
public sealed class KerasLoadImageParityTests
{
    private readonly ITestOutputHelper _output;

    public KerasLoadImageParityTests(ITestOutputHelper output) => _output = output;

    [SkippableFact]
    public void KerasCaffe_EverySeedSampleImage_IsIdenticalToPillowLoadImg()
    {
        var seed = TestPaths.SeedSample;
        Skip.If(seed is null && !TestPaths.IsCi, "The shared seed-sample data set is not at ../shared/datasets/seed-sample (set IMAGESIMILARITY_SHARED).");
        Assert.True(seed is not null, "CI must have the seed sample at ../shared/datasets/seed-sample.");
        PythonReference.RequireAvailable();

        var files = Directory.GetFiles(Path.Combine(seed!, "images")).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(88, files.Length);
        using var dir = TestPaths.CreateTempDirectory("imgsim-keras-seed");
        PythonReference.Run("keras_reference.py", ["pillow", dir.Path, .. files]);

        var preprocessor = new ImagePreprocessor(PreprocessingPreset.KerasCaffe);
        Assert.Same(ImageDecoderOptions.KerasLoadImage, preprocessor.DecoderOptions);
        Assert.Same(ImageDecoderOptions.KerasLoadImage, new ImagePreprocessor(PreprocessingPreset.KerasCaffe, ImageDecoderOptions.Default).DecoderOptions);
        var compositing = new ImageDecoderOptions { ApplyExifOrientation = false };
        int identical = 0, transparentDiffering = 0;
        foreach (var (file, i) in files.Select((f, i) => (f, i)))
        {
            var expected = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(Path.Combine(dir.Path, $"{i}.keras-caffe.f32"))).ToArray();
            var actual = preprocessor.Preprocess(ImageInput.FromFile(file)).Data.ToArray();
            Assert.Equal(expected.Length, actual.Length);
            var mismatches = expected.Where((v, k) => BitConverter.SingleToInt32Bits(v) != BitConverter.SingleToInt32Bits(actual[k])).Count();
            Assert.True(mismatches == 0, $"{Path.GetFileName(file)}: {mismatches} of {expected.Length} values differ from Pillow's load_img + preprocess_input");
            identical++;

            // Compositing over white would change exactly the images with transparency: shows they are exercised.
            var whiteBackground = new float[ImagePreprocessor.InputLength];
            ImagePreprocessor.ToTensor(ImageDecoder.Decode(File.ReadAllBytes(file), file, compositing), PreprocessingPreset.KerasCaffe, whiteBackground);
            var changed = expected.Where((v, k) => v != whiteBackground[k]).Count();
            if (changed > 0)
            {
                transparentDiffering++;
                _output.WriteLine($"{Path.GetFileName(file)}: identical to Pillow; compositing over white would change {changed} values");
            }
        }

        _output.WriteLine($"{identical} of {files.Length} seed images give bit-identical keras-caffe tensors; {transparentDiffering} have transparency that matters");
        Assert.True(transparentDiffering >= 5, $"only {transparentDiffering} seed images have transparent pixels that compositing would change");
    }
}
