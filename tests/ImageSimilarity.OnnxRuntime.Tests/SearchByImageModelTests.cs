using ImageSimilarity.TestSupport;
using Xunit.Abstractions;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>The CLI's --model resnet18 end to end, as child processes: index the seed sample, search, refuse another model.</summary>
public sealed class SearchByImageModelTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task IndexAndSearch_ResNet18_LeaveOneOutQualityAndModelRecorded()
    {
        var folder = SeedImages.Folder;
        using var temp = TestPaths.CreateTempDirectory("cli-resnet18");
        var index = temp.Combine("seed.isvs");

        var indexed = await Cli.RunJsonAsync("index", folder, "--model", "resnet18", "--index", index, "--json");
        Assert.Equal(88, indexed.GetProperty("indexed").GetInt32());
        Assert.StartsWith("resnet18/onnx-", indexed.GetProperty("model").GetString(), StringComparison.Ordinal);

        var info = await Cli.RunJsonAsync("info", "--index", index, "--json");
        Assert.Equal("resnet18", info.GetProperty("modelName").GetString());
        Assert.Equal(512, info.GetProperty("dimension").GetInt32());

        // Leave-one-out through the CLI: each image's stored vector against the 87 others.
        var rankings = new Dictionary<string, IReadOnlyList<string>>();
        foreach (var file in SeedImages.Files)
        {
            var id = Path.GetFileName(file);
            var search = await Cli.RunJsonAsync("search", "--id", id, "--index", index, "--exclude-self", "--top", "87", "--json");
            rankings[id] = search.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetString()!).ToList();
        }

        var metrics = RetrievalMetrics.Evaluate(rankings);
        output.WriteLine($"CLI, --model resnet18, leave-one-out: {RetrievalMetrics.Format(metrics)}");
        Assert.True(metrics.PrecisionAt1 >= 0.95, RetrievalMetrics.Format(metrics));
        Assert.True(metrics.MeanAveragePrecision >= 0.85, RetrievalMetrics.Format(metrics));

        // A query file is extracted with the model the index records (no --model needed): its own entry comes first.
        var query = await Cli.RunJsonAsync("search", Path.Combine(folder, "Dog1.jpeg"), "--index", index, "--top", "3", "--json");
        var top = query.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal("Dog1.jpeg", top[0].GetProperty("id").GetString());
        Assert.True(top[0].GetProperty("similarity").GetSingle() > 0.9999f);
        Assert.Equal("dog", RetrievalMetrics.Category(top[1].GetProperty("id").GetString()!));

        // Another model is refused with a clear one-line error, before anything is loaded or changed.
        var (code, _, stderr) = await Cli.RunAsync("search", Path.Combine(folder, "Dog1.jpeg"), "--index", index, "--model", "vgg16");
        Assert.Equal(1, code);
        Assert.Contains("was built with --model resnet18; --model vgg16 makes vectors that cannot be compared", stderr, StringComparison.Ordinal);
        var (indexCode, _, indexError) = await Cli.RunAsync("index", folder, "--index", index, "--model", "vgg16");
        Assert.Equal(1, indexCode);
        Assert.Contains("was built with --model resnet18", indexError, StringComparison.Ordinal);
        Assert.Equal(88, (await Cli.RunJsonAsync("info", "--index", index, "--json")).GetProperty("images").GetInt32());
    }

    [SkippableFact]
    public async Task Index_OnnxModelWithWrongInput_ClearError()
    {
        using var temp = TestPaths.CreateTempDirectory("cli-onnx");
        var model = temp.Combine("299.onnx");
        TinyModels.WriteChannelMeans(model, 299);
        Directory.CreateDirectory(temp.Combine("images"));
        var (code, _, stderr) = await Cli.RunAsync("index", temp.Combine("images"), "--model", "onnx:" + model, "--index", temp.Combine("i.isvs"));
        Assert.Equal(1, code);
        Assert.Contains("[1, 3, 299, 299]", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(temp.Combine("i.isvs")), "no index is created for a model that cannot load");
    }
}
