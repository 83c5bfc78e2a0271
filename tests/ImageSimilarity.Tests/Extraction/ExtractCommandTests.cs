using System.Text.Json;
using ImageSimilarity.Imaging;
using ImageSimilarity.TestSupport;
using SkiaSharp;

namespace ImageSimilarity.Extraction;

/// <summary>
/// The SearchByImage sample's <c>extract</c> command, run in-process with a random-weight VGG16 file written from C#
/// (<see cref="TestWeights"/>): the command must give what the library gives.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class ExtractCommandTests : IDisposable
{
    private readonly TempDirectory _dir = TestPaths.CreateTempDirectory("imgsim-extract");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Extract_JsonAndRaw_WriteOneVectorPerImageMatchingTheLibrary()
    {
        var images = new[] { SKEncodedImageFormat.Jpeg, SKEncodedImageFormat.Png, SKEncodedImageFormat.Webp }
            .Select((format, i) =>
            {
                var path = _dir.Combine($"image{i}.jpeg");
                File.WriteAllBytes(path, TestImages.Encode(240 + (i * 50), 180 + (i * 30), format, seed: 7 + i));
                return path;
            })
            .ToArray();
        var json = _dir.Combine("cli.json");
        var raw = _dir.Combine("cli.f32");
        string[] common = ["extract", .. images, "--weights", TestWeights.RandomVgg16, "--precision", "bf16"];

        Assert.Equal(0, await Cli.RunAsync([.. common, "--json", "--output", json]));
        Assert.Equal(0, await Cli.RunAsync([.. common, "-o", raw]));

        using var extractor = Vgg16FeatureExtractor.Load(TestWeights.RandomVgg16, new Vgg16ExtractorOptions { Precision = ComputePrecision.BFloat16 });
        var expected = await extractor.ExtractAsync([.. images.Select(ImageInput.FromFile)]);
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var items = doc.RootElement.GetProperty("items");
        Assert.Equal(images.Length, items.GetArrayLength());
        Assert.Equal(extractor.ModelId, doc.RootElement.GetProperty("model").GetString());
        var bytes = await File.ReadAllBytesAsync(raw);
        Assert.Equal(images.Length * 4096 * 4, bytes.Length);
        var rows = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes);
        for (var i = 0; i < images.Length; i++)
        {
            Assert.Equal(images[i], items[i].GetProperty("file").GetString());
            var vector = items[i].GetProperty("vector").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            Assert.Equal(vector, rows.Slice(i * 4096, 4096).ToArray());
            Assert.Contains(vector, v => v > 0f);
            Assert.True(System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(vector, expected[i]) >= 0.9999f);
        }
    }

    [Fact]
    public async Task Extract_Errors_AreOneLineAndNonZero()
    {
        var output = _dir.Combine("never.json");
        var image = _dir.Combine("q.png");
        await File.WriteAllBytesAsync(image, TestImages.Encode(64, 64, SKEncodedImageFormat.Png));
        var text = _dir.Combine("manifest.json");
        await File.WriteAllTextAsync(text, "{}");
        var lines = await Cli.ErrorLinesAsync(async () =>
        {
            Assert.Equal(1, await Cli.RunAsync(["extract", image, "--weights", _dir.Combine("missing.pth"), "--json", "-o", output]));
            Assert.Equal(1, await Cli.RunAsync(["extract", text, "--weights", TestWeights.RandomVgg16, "--json", "-o", output]));
        });

        Assert.Equal(2, lines.Length);
        Assert.StartsWith("error: weights file '", lines[0], StringComparison.Ordinal);
        Assert.Contains("does not exist", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("error: ", lines[1], StringComparison.Ordinal);
        Assert.Contains("manifest.json", lines[1], StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }
}
