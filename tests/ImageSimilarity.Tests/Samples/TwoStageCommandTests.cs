using System.Text.Json;
using ImageSimilarity.Extraction;
using ImageSimilarity.Storage;
using ImageSimilarity.TestSupport;
using SkiaSharp;

namespace ImageSimilarity.Samples;

/// <summary>
/// <c>index --two-stage N|off</c>, <c>search --exact/--candidates</c> and <c>info</c>: two-stage search recorded in the
/// index, used by default, and exact search still available per query.
/// </summary>
[Collection(TorchCollection.Name)] // sequential: libtorch, and these tests redirect Console
public sealed class TwoStageCommandTests : IDisposable
{
    private readonly TempDirectory _dir = TestPaths.CreateTempDirectory("imgsim-cli-twostage");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Index_TwoStage_IsRecorded_UsedBySearch_AndExactStaysAvailable()
    {
        var folder = Directory.CreateDirectory(_dir.Combine("photos")).FullName;
        for (var i = 0; i < 6; i++)
        {
            await WriteImageAsync(folder, i);
        }

        var index = _dir.Combine("two-stage.db");
        var (code, indexed) = await Cli.RunJsonAsync(["index", folder, "--index", index, "--weights", TestWeights.RandomVgg16, "--two-stage", "3", "--json"]);
        Assert.Equal(0, code);
        Assert.Equal(3, indexed.GetProperty("twoStageCandidates").GetInt32());

        var (_, info) = await Cli.RunJsonAsync(["info", "--index", index, "--json"]);
        Assert.Equal(3, info.GetProperty("twoStageCandidates").GetInt32());
        Assert.True(info.GetProperty("binaryCodes").GetBoolean());
        var stored = await EmbeddedVectorStore.ReadInfoAsync(index);
        Assert.Equal(3, stored.TwoStageCandidates);

        // Candidates below --top count as --top: six candidates cover the index, so two-stage equals exact (the same
        // ranking; scores to float rounding, as the re-rank and the exact scan sum in another order).
        var query = Path.Combine(folder, "p2.png");
        var (_, twoStage) = await Cli.RunJsonAsync(["search", query, "--index", index, "--top", "6", "--json"]);
        var (_, exact) = await Cli.RunJsonAsync(["search", query, "--index", index, "--top", "6", "--exact", "--json"]);
        Assert.Equal("two-stage", twoStage.GetProperty("mode").GetString());
        Assert.Equal(3, twoStage.GetProperty("candidates").GetInt32());
        Assert.Equal("exact", exact.GetProperty("mode").GetString());
        AssertSameResults(Results(exact), Results(twoStage));
        Assert.Equal(6, Results(exact).Length);
        Assert.Equal("p2.png", Results(twoStage)[0].Id);

        // A file added later gets its code from the recorded medians: the default two-stage search finds it first.
        await WriteImageAsync(folder, 6);
        Assert.Equal(0, (await Cli.RunJsonAsync(["index", folder, "--index", index, "--weights", TestWeights.RandomVgg16, "--json"])).Code);
        var (_, added) = await Cli.RunJsonAsync(["search", Path.Combine(folder, "p6.png"), "--index", index, "--top", "1", "--json"]);
        Assert.Equal("two-stage", added.GetProperty("mode").GetString());
        var best = Assert.Single(Results(added));
        Assert.Equal("p6.png", best.Id);
        Assert.True(best.Score > 0.999f, "the query's own image scores about 1");

        // --candidates picks another count for one search; --two-stage off goes back to exact, keeping the codes.
        var (_, wide) = await Cli.RunJsonAsync(["search", "--id", "p1.png", "--index", index, "--top", "2", "--candidates", "7", "--json"]);
        Assert.Equal(7, wide.GetProperty("candidates").GetInt32());
        Assert.Equal("p1.png", Results(wide)[0].Id);
        var (offCode, off) = await Cli.RunJsonAsync(["index", folder, "--index", index, "--weights", TestWeights.RandomVgg16, "--two-stage", "off", "--json"]);
        Assert.Equal(0, offCode);
        Assert.Equal(JsonValueKind.Null, off.GetProperty("twoStageCandidates").ValueKind);
        (_, info) = await Cli.RunJsonAsync(["info", "--index", index, "--json"]);
        Assert.Equal(JsonValueKind.Null, info.GetProperty("twoStageCandidates").ValueKind);
        Assert.True(info.GetProperty("binaryCodes").GetBoolean());
        var (_, afterOff) = await Cli.RunJsonAsync(["search", query, "--index", index, "--top", "7", "--json"]);
        Assert.Equal("exact", afterOff.GetProperty("mode").GetString());
        AssertSameResults(Results(exact), Results(afterOff).Where(r => r.Id != "p6.png").ToArray());
    }

    [Fact]
    public async Task Errors_NameTheOptionAndChangeNothing()
    {
        var folder = Directory.CreateDirectory(_dir.Combine("few")).FullName;
        await WriteImageAsync(folder, 0);
        await WriteImageAsync(folder, 1);
        var index = _dir.Combine("exact.db");
        Assert.Equal(0, (await Cli.RunJsonAsync(["index", folder, "--index", index, "--weights", TestWeights.RandomVgg16, "--json"])).Code);
        var before = await File.ReadAllBytesAsync(index);

        var lines = await Cli.ErrorLinesAsync(async () =>
        {
            Assert.NotEqual(0, await Cli.RunAsync(["index", folder, "--index", index, "--weights", TestWeights.RandomVgg16, "--two-stage", "0"]));
            Assert.NotEqual(0, await Cli.RunAsync(["index", folder, "--index", index, "--weights", TestWeights.RandomVgg16, "--two-stage", "many"]));
            Assert.Equal(1, await Cli.RunAsync(["search", "--id", "p0.png", "--index", index, "--candidates", "5"]));
            Assert.NotEqual(0, await Cli.RunAsync(["search", "--id", "p0.png", "--index", index, "--candidates", "5", "--exact"]));
        });

        Assert.Contains(lines, l => l.Contains("--two-stage", StringComparison.Ordinal) && l.Contains("'0'", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("--two-stage", StringComparison.Ordinal) && l.Contains("'many'", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("error: ", StringComparison.Ordinal) && l.Contains("no binary codes", StringComparison.Ordinal) && l.Contains("exact.db", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("--exact or --candidates", StringComparison.Ordinal));
        Assert.Equal(before, await File.ReadAllBytesAsync(index));
        Assert.False((await EmbeddedVectorStore.ReadInfoAsync(index)).HasBinaryCodes);
    }

    private static void AssertSameResults((string Id, float Score)[] expected, (string Id, float Score)[] actual)
    {
        Assert.Equal(expected.Select(r => r.Id), actual.Select(r => r.Id));
        Assert.All(expected.Zip(actual), p => Assert.Equal(p.First.Score, p.Second.Score, 1e-5f));
    }

    private static (string Id, float Score)[] Results(JsonElement search) => search.GetProperty("results").EnumerateArray()
        .Select(r => (r.GetProperty("id").GetString()!, r.GetProperty("similarity").GetSingle()))
        .ToArray();

    private static Task WriteImageAsync(string folder, int i) =>
        File.WriteAllBytesAsync(Path.Combine(folder, $"p{i}.png"), TestImages.Encode(150 + (i * 25), 130 + (i * 7), SKEncodedImageFormat.Png, seed: 40 + i));
}
