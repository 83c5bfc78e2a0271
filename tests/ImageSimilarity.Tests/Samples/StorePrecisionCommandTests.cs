using ImageSimilarity.Extraction;
using ImageSimilarity.TestSupport;
using SkiaSharp;

namespace ImageSimilarity.Samples;

/// <summary><c>index --store-precision int8</c>: recorded in the index, shown by <c>info</c>, searched.</summary>
[Collection(TorchCollection.Name)] // sequential: libtorch, and these tests redirect Console
public sealed class StorePrecisionCommandTests : IDisposable
{
    private readonly TempDirectory _dir = TestPaths.CreateTempDirectory("imgsim-cli-int8");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Index_StorePrecisionInt8_IsRecordedShownByInfoAndSearched()
    {
        var folder = Directory.CreateDirectory(_dir.Combine("photos")).FullName;
        for (var i = 0; i < 4; i++)
        {
            await File.WriteAllBytesAsync(Path.Combine(folder, $"p{i}.png"), TestImages.Encode(160 + (i * 30), 140, SKEncodedImageFormat.Png, seed: 70 + i));
        }

        var index = _dir.Combine("int8.db");
        var (code, _) = await Cli.RunJsonAsync(["index", folder, "--index", index, "--weights", TestWeights.RandomVgg16, "--store-precision", "int8", "--json"]);
        Assert.Equal(0, code);

        var (_, info) = await Cli.RunJsonAsync(["info", "--index", index, "--json"]);
        Assert.Equal("int8", info.GetProperty("storagePrecision").GetString());
        Assert.Equal(4, info.GetProperty("images").GetInt32());

        var (searchCode, search) = await Cli.RunJsonAsync(["search", Path.Combine(folder, "p2.png"), "--index", index, "--top", "2", "--json"]);
        Assert.Equal(0, searchCode);
        var best = search.GetProperty("results")[0];
        Assert.Equal("p2.png", best.GetProperty("id").GetString());
        Assert.True(best.GetProperty("similarity").GetSingle() > 0.99f, "int8 scores the query's own image close to 1");
    }
}
