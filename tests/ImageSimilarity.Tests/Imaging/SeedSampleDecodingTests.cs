using ImageSimilarity.TestSupport;

namespace ImageSimilarity.Imaging;

public sealed class SeedSampleDecodingTests
{
    [SkippableFact]
    public void Preprocess_EverySeedSampleImage_DecodesByContentWhateverItsExtension()
    {
        var seed = TestPaths.RequireSeedSample();

        var files = Directory.GetFiles(Path.Combine(seed, "images"));
        Assert.Equal(88, files.Length);
        var preprocessor = new ImagePreprocessor();
        var formats = new Dictionary<string, int>();
        foreach (var file in files)
        {
            var head = File.ReadAllBytes(file).AsSpan(0, 12).ToArray();
            var format = head[0] == 0xFF ? "jpeg" : head[0] == 0x89 ? "png" : head[0] == (byte)'R' ? "webp" : "other";
            formats[format] = formats.GetValueOrDefault(format) + 1;

            var result = preprocessor.Preprocess(ImageInput.FromFile(file));

            Assert.Equal(3 * 224 * 224, result.Data.Length);
            Assert.All(result.Data.ToArray(), v => Assert.True(float.IsFinite(v)));
        }

        Assert.Equal(68, formats["jpeg"]);
        Assert.Equal(13, formats["webp"]);
        Assert.Equal(7, formats["png"]);
    }
}
