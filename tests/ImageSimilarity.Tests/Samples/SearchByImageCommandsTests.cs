using ImageSimilarity.Extraction;
using ImageSimilarity.TestSupport;
using SkiaSharp;

namespace ImageSimilarity.Samples;

/// <summary>
/// The SearchByImage program's main job, run in-process with a random-weight VGG16 file written from C#
/// (<see cref="TestWeights"/>; Python is not the point here): index a folder with bad files in it, index it again,
/// search, render, inspect, import.
/// </summary>
[Collection(TorchCollection.Name)] // sequential: libtorch, and these tests redirect Console
public sealed class SearchByImageCommandsTests : IDisposable
{
    private static readonly SKEncodedImageFormat[] Formats = [SKEncodedImageFormat.Jpeg, SKEncodedImageFormat.Png, SKEncodedImageFormat.Webp];
    private readonly TempDirectory _dir = TestPaths.CreateTempDirectory("imgsim-cli");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task IndexSearchInfo_OnAFolderWithBadFiles_DoTheMainJob()
    {
        const int Images = 6;
        var folder = Directory.CreateDirectory(_dir.Combine("photos")).FullName;
        for (var i = 0; i < Images; i++)
        {
            // All named .jpeg whatever their format, like the seed sample.
            await File.WriteAllBytesAsync(Path.Combine(folder, $"img{i}.jpeg"), TestImages.Encode(200 + (i * 37), 150 + (i * 23), Formats[i % 3], seed: i + 1));
        }

        var jpeg = await File.ReadAllBytesAsync(Path.Combine(folder, "img0.jpeg"));
        await File.WriteAllBytesAsync(Path.Combine(folder, "cut.jpeg"), jpeg.AsSpan(0, jpeg.Length / 2).ToArray());
        await File.WriteAllBytesAsync(Path.Combine(folder, "empty.jpeg"), []);
        await File.WriteAllTextAsync(Path.Combine(folder, "notes.jpeg"), "not a picture");
        var index = _dir.Combine("photos.db");
        string[] model = ["--index", index, "--weights", TestWeights.RandomVgg16];

        var (code, first) = await Cli.RunJsonAsync(["index", folder, .. model, "--batch-size", "2", "--json"]);
        Assert.Equal(0, code);
        Assert.Equal(Images, first.GetProperty("indexed").GetInt32());
        Assert.Equal(2, first.GetProperty("failed").GetInt32());
        Assert.Equal(1, first.GetProperty("skipped").GetInt32());
        var failures = first.GetProperty("failures").EnumerateArray().Select(f => Path.GetFileName(f.GetProperty("file").GetString()!)).Order().ToArray();
        Assert.Equal(["cut.jpeg", "empty.jpeg", "notes.jpeg"], failures);

        var (_, second) = await Cli.RunJsonAsync(["index", folder, .. model, "--json"]);
        Assert.Equal(0, second.GetProperty("indexed").GetInt32());
        Assert.Equal(Images, second.GetProperty("unchanged").GetInt32());

        var query = Path.Combine(folder, "img3.jpeg");
        var sheet = _dir.Combine("sheet.png");
        var html = _dir.Combine("result.html");
        var (searchCode, search) = await Cli.RunJsonAsync(["search", query, "--index", index, "--top", "3", "--json", "--sheet", sheet, "--html", html]);
        Assert.Equal(0, searchCode);
        var results = search.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(3, results.Length);
        Assert.Equal("img3.jpeg", results[0].GetProperty("id").GetString());
        Assert.True(results[0].GetProperty("similarity").GetSingle() > 0.9999f);
        using (var bitmap = SKBitmap.Decode(sheet))
        {
            Assert.True(bitmap.Width > 224 * 3 && bitmap.Height > 224, "the sheet holds the query and three matches");
        }

        var page = await File.ReadAllTextAsync(html);
        Assert.Equal(4, page.Split("data:image/jpeg;base64,").Length - 1);
        Assert.Contains("img3.jpeg", page, StringComparison.Ordinal);

        var (_, excluded) = await Cli.RunJsonAsync(["search", query, "--index", index, "--exclude-self", "--json"]);
        Assert.DoesNotContain(excluded.GetProperty("results").EnumerateArray(), r => r.GetProperty("id").GetString() == "img3.jpeg");
        Assert.Equal(Images - 1, excluded.GetProperty("results").GetArrayLength());

        var (_, info) = await Cli.RunJsonAsync(["info", "--index", index, "--json"]);
        Assert.Equal(Images, info.GetProperty("images").GetInt32());
        Assert.Equal("torchvision", info.GetProperty("preset").GetString());
        Assert.Equal("fp32", info.GetProperty("extractionPrecision").GetString());
        Assert.StartsWith("vgg16-fc2/weights-", info.GetProperty("model").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Search_WeightsFileMoved_TheEnvironmentVariableBeatsThePathRecordedInTheIndex()
    {
        var folder = Directory.CreateDirectory(_dir.Combine("moved")).FullName;
        for (var i = 0; i < 3; i++)
        {
            await File.WriteAllBytesAsync(Path.Combine(folder, $"m{i}.png"), TestImages.Encode(180 + (i * 20), 140, SKEncodedImageFormat.Png, seed: 40 + i));
        }

        var weights = _dir.Combine("weights-here.safetensors");
        File.Copy(TestWeights.RandomVgg16, weights);
        var index = _dir.Combine("moved.db");
        Assert.Equal(0, (await Cli.RunJsonAsync(["index", folder, "--index", index, "--weights", weights, "--json"])).Code);

        // The file moves; the index still records the old path. Only the variable says where it is now.
        var moved = _dir.Combine("weights-moved.safetensors");
        File.Move(weights, moved);
        var previous = Environment.GetEnvironmentVariable(Vgg16Weights.EnvironmentVariable);
        Environment.SetEnvironmentVariable(Vgg16Weights.EnvironmentVariable, moved);
        try
        {
            var (code, search) = await Cli.RunJsonAsync(["search", Path.Combine(folder, "m1.png"), "--index", index, "--top", "1", "--json"]);
            Assert.Equal(0, code);
            Assert.Equal("m1.png", search.GetProperty("results")[0].GetProperty("id").GetString());
        }
        finally
        {
            Environment.SetEnvironmentVariable(Vgg16Weights.EnvironmentVariable, previous);
        }
    }

    [Fact]
    public async Task ImportAndSearchById_UseStoredVectorsWithoutAModel()
    {
        const int Rows = 12;
        var features = Storage.TestVectors.Random(3, Rows, 64);
        var vectors = _dir.Combine("v.f32");
        var names = _dir.Combine("names.txt");
        await File.WriteAllBytesAsync(vectors, System.Runtime.InteropServices.MemoryMarshal.AsBytes(features.SelectMany(f => f).ToArray().AsSpan()).ToArray());
        await File.WriteAllLinesAsync(names, Enumerable.Range(0, Rows).Select(i => $"row{i}"));
        var index = _dir.Combine("imported.db");

        Assert.Equal(0, await Cli.RunAsync(["import", vectors, "--names", names, "--model-id", "reference-fc2", "--index", index]));
        var (code, search) = await Cli.RunJsonAsync(["search", "--id", "row1", "--index", index, "--exclude-self", "--top", "2", "--json"]);

        Assert.Equal(0, code);
        var ids = search.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToArray();
        Assert.Equal(2, ids.Length);
        Assert.DoesNotContain("row1", ids);
        var best = features.Select((f, i) => (i, s: System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(f, features[1])))
            .Where(t => t.i != 1).OrderByDescending(t => t.s).First().i;
        Assert.Equal($"row{best}", ids[0]);

        // Importing vectors of another model into this index is one error line, not a stack trace, and changes nothing.
        var line = Assert.Single(await Cli.ErrorLinesAsync(async () =>
            Assert.Equal(1, await Cli.RunAsync(["import", vectors, "--names", names, "--model-id", "another-model", "--index", index]))));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains("'reference-fc2'", line, StringComparison.Ordinal);
        Assert.Contains("'another-model'", line, StringComparison.Ordinal);
        Assert.Equal(0, (await Cli.RunJsonAsync(["search", "--id", "row1", "--index", index, "--top", "1", "--json"])).Code);
    }

    [Fact]
    public async Task Errors_AreOneLineWithANonZeroExitCode()
    {
        var missingIndex = _dir.Combine("no-such.isvs");
        var image = _dir.Combine("q.png");
        await File.WriteAllBytesAsync(image, TestImages.Encode(64, 64, SKEncodedImageFormat.Png));
        var lines = await Cli.ErrorLinesAsync(async () =>
        {
            Assert.Equal(1, await Cli.RunAsync(["search", image, "--index", missingIndex]));
            Assert.Equal(1, await Cli.RunAsync(["info", "--index", missingIndex]));
            Assert.Equal(1, await Cli.RunAsync(["index", _dir.Combine("no-such-folder"), "--index", missingIndex, "--weights", _dir.Combine("unused.pth")]));
        });

        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.StartsWith("error: ", l, StringComparison.Ordinal));
        Assert.Contains("no-such.isvs", lines[0], StringComparison.Ordinal);
        Assert.Contains("no-such-folder", lines[2], StringComparison.Ordinal);
        Assert.False(File.Exists(missingIndex));
    }
}
