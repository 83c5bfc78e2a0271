using ImageSimilarity.Extraction;
using ImageSimilarity.Storage;
using ImageSimilarity.TestSupport;
using SkiaSharp;
using Xunit.Abstractions;

namespace ImageSimilarity.Evaluation;

/// <summary>
/// <c>SearchByImage evaluate</c> end to end with a random-weight VGG16 (<see cref="TestWeights"/>): on the seed sample its
/// figures equal the library's evaluation of the vectors it stored; empty, one-image and unlabelled folders give clear errors.
/// </summary>
[Collection(TorchCollection.Name)] // sequential: libtorch, and these tests redirect Console
public sealed class EvaluateCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _dir = TestPaths.CreateTempDirectory("imgsim-evaluate");

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public async Task Evaluate_SeedSampleWithPrefixLabels_ReportsTheFiguresOfTheStoredVectors()
    {
        var images = Path.Combine(TestPaths.RequireSeedSample(), "images");
        var index = _dir.Combine("seed.db");

        var (code, json) = await Cli.RunJsonAsync("evaluate", images, "--labels", "prefix", "--index", index, "--weights", TestWeights.RandomVgg16, "--json");

        Assert.Equal(0, code);
        Assert.Equal(88, json.GetProperty("images").GetInt32());
        Assert.Equal(0, json.GetProperty("failed").GetInt32());
        var p1 = json.GetProperty("p1").GetDouble();
        var map = json.GetProperty("map").GetDouble();
        output.WriteLine($"random-weight VGG16 on the seed sample: P@1 {p1:F4} P@5 {json.GetProperty("p5").GetDouble():F4} P@10 {json.GetProperty("p10").GetDouble():F4} mAP {map:F4}");

        // The kept index holds the vectors the command evaluated: the library on them gives the same figures.
        await using var store = await EmbeddedVectorStore.OpenAsync(index);
        var expected = await RetrievalEvaluator.EvaluateAsync(store, r => EvaluationLabels.FromFileNamePrefix(r.Id));
        Assert.Equal(expected.PrecisionAt1, p1, 1e-12);
        Assert.Equal(expected.PrecisionAt5, json.GetProperty("p5").GetDouble(), 1e-12);
        Assert.Equal(expected.PrecisionAt10, json.GetProperty("p10").GetDouble(), 1e-12);
        Assert.Equal(expected.MeanAveragePrecision, map, 1e-12);
        Assert.Equal(expected.PerLabel.Select(x => x.Label), json.GetProperty("perLabel").EnumerateArray().Select(x => x.GetProperty("label").GetString()));

        // Six balanced categories: chance is about 1/6; even random convolutions beat it on these images.
        Assert.InRange(p1, 0.2, 1.0);
    }

    [Fact]
    public async Task Evaluate_FolderLabels_UsesSubFolders()
    {
        var root = Directory.CreateDirectory(_dir.Combine("labelled")).FullName;
        for (var i = 0; i < 4; i++)
        {
            var label = i % 2 == 0 ? "red" : "blue";
            Directory.CreateDirectory(Path.Combine(root, label));
            await File.WriteAllBytesAsync(Path.Combine(root, label, $"x{i}.png"), TestImages.Encode(96 + i, 80, SKEncodedImageFormat.Png, seed: i + 1));
        }

        var (code, json) = await Cli.RunJsonAsync("evaluate", root, "--weights", TestWeights.RandomVgg16, "--json");

        Assert.Equal(0, code);
        Assert.Equal("folders", json.GetProperty("labels").GetString());
        Assert.Equal(["blue", "red"], json.GetProperty("perLabel").EnumerateArray().Select(x => x.GetProperty("label").GetString()));
        Assert.Equal(4, json.GetProperty("queries").GetInt32());
    }

    [Fact]
    public async Task Evaluate_StorePrecisionInt8_EvaluatesTheInt8VectorsOfANewIndex()
    {
        var root = Directory.CreateDirectory(_dir.Combine("int8")).FullName;
        for (var i = 0; i < 6; i++)
        {
            await File.WriteAllBytesAsync(Path.Combine(root, $"{(i % 2 == 0 ? "red" : "blue")}{i}.png"), TestImages.Encode(90 + (i * 9), 80, SKEncodedImageFormat.Png, seed: 30 + i));
        }

        var index = _dir.Combine("int8.db");
        var (code, json) = await Cli.RunJsonAsync("evaluate", root, "--labels", "prefix", "--index", index, "--store-precision", "int8", "--weights", TestWeights.RandomVgg16, "--json");

        Assert.Equal(0, code);
        Assert.Equal("int8", json.GetProperty("storagePrecision").GetString());
        Assert.Equal(VectorPrecision.Int8, (await EmbeddedVectorStore.ReadInfoAsync(index)).Precision);
        await using var store = await EmbeddedVectorStore.OpenAsync(index);
        var expected = await RetrievalEvaluator.EvaluateAsync(store, r => EvaluationLabels.FromFileNamePrefix(r.Id));
        Assert.Equal(expected.MeanAveragePrecision, json.GetProperty("map").GetDouble(), 1e-12);
        Assert.Equal(6, json.GetProperty("queries").GetInt32());
    }

    [Theory]
    [InlineData(0, "prefix", "the index is empty")]
    [InlineData(1, "prefix", "single image")]
    [InlineData(3, "folders", "has a label")]
    public async Task Evaluate_UnusableFolder_FailsWithAClearMessage(int images, string labels, string expected)
    {
        var root = Directory.CreateDirectory(_dir.Combine($"small{images}")).FullName;
        for (var i = 0; i < images; i++)
        {
            await File.WriteAllBytesAsync(Path.Combine(root, $"cat{i}.jpg"), TestImages.Encode(64, 64, SKEncodedImageFormat.Jpeg, seed: i + 1));
        }

        var code = 0;
        var errors = await Cli.ErrorLinesAsync(async () => code = await Cli.RunAsync("evaluate", root, "--labels", labels, "--weights", TestWeights.RandomVgg16, "--json"));

        Assert.Equal(1, code);
        var line = Assert.Single(errors, e => e.StartsWith("error: ", StringComparison.Ordinal));
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }
}
