using System.Numerics.Tensors;
using System.Text.Json;
using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;
using ImageSimilarity.TestSupport;
using Xunit.Abstractions;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>
/// The CLI's model options as child processes: <c>extract --model/--engine</c>, the spec of an <c>onnx:&lt;file&gt;</c>
/// model (a JSON file beside it or <c>--onnx-spec</c>, recorded in the index), and <c>--engine auto</c>'s measurement.
/// </summary>
[Collection(Vgg16OnnxCollection.Name)]
public sealed class SearchByImageCliOptionsTests(Vgg16ReferenceFixture fixture, ITestOutputHelper output)
{
    // 0-255 pixel values in, the channel means out: the vector says exactly which preprocessing ran.
    private const string RawPixelsSpec = """{ "name": "means", "inputSize": 32, "resizeShorterSide": null, "pixelScale": 1, "mean": [0, 0, 0], "std": [1, 1, 1] }""";

    [SkippableFact]
    public async Task Extract_ModelResNet18_Writes512FloatVectorsLikeTheLibrary()
    {
        var files = SeedImages.Files.Take(2).ToArray();

        var json = await Cli.RunJsonAsync(["extract", "--model", "resnet18", "--json", .. files]);

        Assert.Equal(512, json.GetProperty("dimension").GetInt32());
        using var resnet = ResNet18Model.Load();
        Assert.Equal(resnet.ModelId, json.GetProperty("model").GetString());
        var expected = await resnet.ExtractAsync(files.Select(ImageInput.FromFile).ToList());
        var items = json.GetProperty("items").EnumerateArray().ToArray();
        for (var i = 0; i < files.Length; i++)
        {
            var vector = Vector(items[i]);
            Assert.Equal(512, vector.Length);
            Assert.True(TensorPrimitives.CosineSimilarity(vector, expected[i]) > 0.99999f);
        }
    }

    [SkippableFact]
    public async Task Extract_EngineOnnxRuntime_MatchesTorchSharp()
    {
        var weights = fixture.Data.File("vgg16_zip.pth");
        var image = SeedImages.Files[0];

        var torch = await Cli.RunJsonAsync("extract", "--weights", weights, "--engine", "torchsharp", "--json", image);
        var onnx = await Cli.RunJsonAsync("extract", "--weights", weights, "--engine", "onnxruntime", "--json", image);

        Assert.Equal(torch.GetProperty("model").GetString(), onnx.GetProperty("model").GetString());
        var cosine = TensorPrimitives.CosineSimilarity(Vector(torch.GetProperty("items")[0]), Vector(onnx.GetProperty("items")[0]));
        output.WriteLine($"extract --engine onnxruntime vs torchsharp: cosine {cosine:F7}");
        Assert.True(cosine >= 0.9999f, $"cosine {cosine}");
        var (code, _, stderr) = await Cli.RunAsync("extract", "--model", "resnet18", "--engine", "torchsharp", "--json", image);
        Assert.Equal(1, code);
        Assert.Contains("--engine torchsharp and --precision bf16 apply to vgg16 only", stderr, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task OnnxModel_SpecBesideTheModelOrGiven_IsUsedValidatedAndRecorded()
    {
        var images = SeedImages.Files.Take(3).ToArray();
        using var temp = TestPaths.CreateTempDirectory("cli-onnx-spec");
        var model = temp.Combine("means.onnx");
        TinyModels.WriteChannelMeans(model, 32, batch: -1);

        // Without a spec: torchvision defaults (224 input) do not fit a 32x32 model.
        var (noSpecCode, _, noSpecError) = await Cli.RunAsync("extract", "--model", "onnx:" + model, "--json", images[0]);
        Assert.Equal(1, noSpecCode);
        Assert.Contains("InputSize", noSpecError, StringComparison.Ordinal);

        // means.spec.json beside the model is picked up: raw 0-255 means of the 32x32 resized image.
        await File.WriteAllTextAsync(temp.Combine("means.spec.json"), RawPixelsSpec);
        var rgb = await Cli.RunJsonAsync(["extract", "--model", "onnx:" + model, "--json", .. images]);
        var spec = OnnxModelSpec.FromJsonFile(temp.Combine("means.spec.json"));
        var preprocessor = new OnnxImagePreprocessor(spec, ImageDecoderOptions.Default);
        for (var i = 0; i < images.Length; i++)
        {
            var pixels = preprocessor.Preprocess(ImageInput.FromFile(images[i])).Data.ToArray();
            var expected = Enumerable.Range(0, 3).Select(c => TensorPrimitives.Sum(pixels.AsSpan(c * 32 * 32, 32 * 32)) / (32 * 32)).ToArray();
            var actual = Vector(rgb.GetProperty("items")[i]);
            Assert.All(expected, v => Assert.InRange(v, 0f, 255f));
            Assert.Equal(expected, actual, (a, b) => Math.Abs(a - b) < 1e-3f);
        }

        // --onnx-spec wins over the file beside the model: BGR gives the same means reversed.
        var bgrSpec = temp.Combine("bgr.json");
        await File.WriteAllTextAsync(bgrSpec, RawPixelsSpec.Replace("\"pixelScale\"", "\"channelOrder\": \"bgr\", \"pixelScale\"", StringComparison.Ordinal));
        var bgr = await Cli.RunJsonAsync("extract", "--model", "onnx:" + model, "--onnx-spec", bgrSpec, "--json", images[0]);
        Assert.Equal(Vector(rgb.GetProperty("items")[0]).Reverse(), Vector(bgr.GetProperty("items")[0]), (a, b) => Math.Abs(a - b) < 1e-3f);
        Assert.NotEqual(rgb.GetProperty("model").GetString(), bgr.GetProperty("model").GetString());

        // The index records the spec it was built with; a search without --onnx-spec (and nothing beside the model) uses it.
        var folder = temp.Combine("images");
        Directory.CreateDirectory(folder);
        foreach (var image in images)
        {
            File.Copy(image, Path.Combine(folder, Path.GetFileName(image)));
        }

        var index = temp.Combine("means.db");
        var indexed = await Cli.RunJsonAsync("index", folder, "--model", "onnx:" + model, "--onnx-spec", bgrSpec, "--index", index, "--json");
        Assert.Equal(3, indexed.GetProperty("indexed").GetInt32());
        File.Delete(temp.Combine("means.spec.json"));
        var search = await Cli.RunJsonAsync("search", images[0], "--index", index, "--top", "1", "--json");
        Assert.Equal(Path.GetFileName(images[0]), search.GetProperty("results")[0].GetProperty("id").GetString());
        Assert.True(search.GetProperty("results")[0].GetProperty("similarity").GetSingle() > 0.99999f);

        // --onnx-spec with another model is refused.
        var (wrongModelCode, _, wrongModelError) = await Cli.RunAsync("extract", "--model", "resnet18", "--onnx-spec", bgrSpec, "--json", images[0]);
        Assert.Equal(1, wrongModelCode);
        Assert.Contains("--onnx-spec applies to --model onnx:<file> only", wrongModelError, StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData("""{ "inputSize": 32, "resizeShorterSide": null, "colour": "rgb" }""", "unknown key 'colour'")]
    [InlineData("""{ "inputSize": 32, "resizeShorterSide": null, "layout": "chw" }""", "The key 'layout'")]
    [InlineData("""{ "inputSize": 32, "resizeShorterSide": null, "mean": [0.5, 0.5] }""", "The key 'mean'")]
    [InlineData("""{ "inputSize": 32, "resizeShorterSide": 16 }""", "ResizeShorterSide 16 must be at least InputSize 32")]
    [InlineData("""[1, 2, 3]""", "must hold one JSON object")]
    [InlineData("""{ "inputSize": 32, """, "is not valid JSON")]
    [InlineData("""{ "inputSize": 64, "resizeShorterSide": null }""", "[N, 3, 64, 64]")]
    public async Task OnnxModel_BadSpecFile_OneClearErrorNamingTheFile(string content, string expected)
    {
        var image = SeedImages.Files[0];
        using var temp = TestPaths.CreateTempDirectory("cli-onnx-badspec");
        var model = temp.Combine("means.onnx");
        TinyModels.WriteChannelMeans(model, 32, batch: -1);
        var specPath = temp.Combine("spec.json");
        await File.WriteAllTextAsync(specPath, content);

        var (code, stdout, stderr) = await Cli.RunAsync("extract", "--model", "onnx:" + model, "--onnx-spec", specPath, "--json", image);

        output.WriteLine(stderr);
        Assert.Equal(1, code);
        Assert.Empty(stdout);
        Assert.StartsWith("error: ", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
        Assert.Contains(expected.StartsWith("[N", StringComparison.Ordinal) ? model : specPath, stderr, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Index_EngineAndPrecisionAuto_MeasuresOnceSaysWhyAndInfoShowsIt()
    {
        var weights = fixture.Data.File("vgg16_zip.pth");
        using var temp = TestPaths.CreateTempDirectory("cli-auto");
        var folder = temp.Combine("images");
        Directory.CreateDirectory(folder);
        foreach (var image in SeedImages.Files.Take(2))
        {
            File.Copy(image, Path.Combine(folder, Path.GetFileName(image)));
        }

        var environment = new Dictionary<string, string?> { ["IMAGESIMILARITY_CACHE"] = temp.Combine("cache"), [Vgg16AutoOptions.MeasureEnvironmentVariable] = null };
        var index = temp.Combine("auto.db");
        string[] args = ["index", folder, "--index", index, "--weights", weights, "--engine", "auto", "--precision", "auto", "--batch-size", "2", "--json"];

        var first = await Cli.RunWithEnvironmentAsync(environment, args);

        output.WriteLine(first.Stderr);
        Assert.True(first.Code == 0, first.Stderr);
        Assert.Contains("no measurement cached for CPU", first.Stderr, StringComparison.Ordinal);
        Assert.Contains("measured now", first.Stderr, StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(temp.Combine("cache", "engine-choice"), "vgg16-*.json"));
        Assert.Equal(2, JsonDocument.Parse(first.Stdout).RootElement.GetProperty("indexed").GetInt32());

        var info = await Cli.RunJsonAsync("info", "--index", index, "--json");
        var autoChoice = info.GetProperty("autoChoice").GetString();
        Assert.NotNull(autoChoice);
        Assert.Contains(CpuFeatures.Current.ModelName, autoChoice, StringComparison.Ordinal);
        Assert.StartsWith($"{info.GetProperty("engine").GetString()} {info.GetProperty("extractionPrecision").GetString()}:", autoChoice, StringComparison.Ordinal);

        // The second run reads the cache instead of measuring.
        File.Delete(index);
        var second = await Cli.RunWithEnvironmentAsync(environment, args);
        Assert.True(second.Code == 0, second.Stderr);
        Assert.Contains("measured earlier", second.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("no measurement cached", second.Stderr, StringComparison.Ordinal);
    }

    private static float[] Vector(JsonElement item) => [.. item.GetProperty("vector").EnumerateArray().Select(v => v.GetSingle())];
}
