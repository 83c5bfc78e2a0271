using System.CommandLine;
using System.Text.Json;
using ImageSimilarity.Extraction;
using SearchByImage;
using SkiaSharp;

namespace ImageSimilarity.Samples;

/// <summary>
/// The SearchByImage program's main job, run in-process with VGG16 weights written by the real torch.save:
/// index a folder with bad files in it, index it again, search, render, inspect, import.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class SearchByImageCommandsTests
{
    private readonly Vgg16ReferenceFixture _reference;

    public SearchByImageCommandsTests(Vgg16ReferenceFixture reference) => _reference = reference;

    [SkippableFact]
    public async Task IndexSearchInfo_OnAFolderWithBadFiles_DoTheMainJob()
    {
        var data = _reference.Data;
        var folder = Directory.CreateDirectory(Path.Combine(data.Folder, "cli-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        foreach (var image in data.Images)
        {
            File.Copy(image, Path.Combine(folder, Path.GetFileNameWithoutExtension(image) + ".jpeg")); // all named .jpeg, like the seed sample
        }

        var jpeg = await File.ReadAllBytesAsync(Path.Combine(folder, "shapes.jpeg"));
        await File.WriteAllBytesAsync(Path.Combine(folder, "cut.jpeg"), jpeg.AsSpan(0, jpeg.Length / 2).ToArray());
        await File.WriteAllBytesAsync(Path.Combine(folder, "empty.jpeg"), []);
        await File.WriteAllTextAsync(Path.Combine(folder, "notes.jpeg"), "not a picture");
        var index = Path.Combine(folder, "..", Path.GetFileName(folder) + ".db");
        string[] model = ["--index", index, "--weights", data.File("vgg16_legacy.pth")];

        var (code, first) = await RunJson(["index", folder, .. model, "--batch-size", "2", "--json"]);
        Assert.Equal(0, code);
        Assert.Equal(data.Images.Length, first.GetProperty("indexed").GetInt32());
        Assert.Equal(2, first.GetProperty("failed").GetInt32());
        Assert.Equal(1, first.GetProperty("skipped").GetInt32());
        var failures = first.GetProperty("failures").EnumerateArray().Select(f => Path.GetFileName(f.GetProperty("file").GetString()!)).Order().ToArray();
        Assert.Equal(["cut.jpeg", "empty.jpeg", "notes.jpeg"], failures);

        var (_, second) = await RunJson(["index", folder, .. model, "--json"]);
        Assert.Equal(0, second.GetProperty("indexed").GetInt32());
        Assert.Equal(data.Images.Length, second.GetProperty("unchanged").GetInt32());

        var query = Path.Combine(folder, "tall.jpeg");
        var sheet = Path.Combine(folder, "..", "sheet.png");
        var html = Path.Combine(folder, "..", "result.html");
        var (searchCode, search) = await RunJson(["search", query, "--index", index, "--top", "3", "--json", "--sheet", sheet, "--html", html]);
        Assert.Equal(0, searchCode);
        var results = search.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(3, results.Length);
        Assert.Equal("tall.jpeg", results[0].GetProperty("id").GetString());
        Assert.True(results[0].GetProperty("similarity").GetSingle() > 0.9999f);
        using (var bitmap = SKBitmap.Decode(sheet))
        {
            Assert.True(bitmap.Width > 224 * 3 && bitmap.Height > 224, "the sheet holds the query and three matches");
        }

        var page = await File.ReadAllTextAsync(html);
        Assert.Equal(4, page.Split("data:image/jpeg;base64,").Length - 1);
        Assert.Contains("tall.jpeg", page, StringComparison.Ordinal);

        var (_, excluded) = await RunJson(["search", query, "--index", index, "--exclude-self", "--json"]);
        Assert.DoesNotContain(excluded.GetProperty("results").EnumerateArray(), r => r.GetProperty("id").GetString() == "tall.jpeg");
        Assert.Equal(data.Images.Length - 1, excluded.GetProperty("results").GetArrayLength());

        var (_, info) = await RunJson(["info", "--index", index, "--json"]);
        Assert.Equal(data.Images.Length, info.GetProperty("images").GetInt32());
        Assert.Equal("torchvision", info.GetProperty("preset").GetString());
        Assert.Equal("fp32", info.GetProperty("extractionPrecision").GetString());
        Assert.Equal(new FileInfo(index).Length, info.GetProperty("bytesOnDisk").GetInt64());
        Assert.StartsWith("vgg16-fc2/weights-", info.GetProperty("model").GetString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task ImportAndSearchById_UseStoredVectorsWithoutAModel()
    {
        var data = _reference.Data;
        var dir = Directory.CreateDirectory(Path.Combine(data.Folder, "import-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        var vectors = Path.Combine(dir, "v.f32");
        var names = Path.Combine(dir, "names.txt");
        await File.WriteAllBytesAsync(vectors, System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.Features.SelectMany(f => f).ToArray().AsSpan()).ToArray());
        await File.WriteAllLinesAsync(names, Enumerable.Range(0, data.Features.Length).Select(i => $"row{i}"));
        var index = Path.Combine(dir, "imported.db");

        Assert.Equal(0, await Run(["import", vectors, "--names", names, "--model-id", "reference-fc2", "--index", index]));
        var (code, search) = await RunJson(["search", "--id", "row1", "--index", index, "--exclude-self", "--top", "2", "--json"]);

        Assert.Equal(0, code);
        var ids = search.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToArray();
        Assert.Equal(2, ids.Length);
        Assert.DoesNotContain("row1", ids);
        var best = data.Features.Select((f, i) => (i, s: System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(f, data.Features[1])))
            .Where(t => t.i != 1).OrderByDescending(t => t.s).First().i;
        Assert.Equal($"row{best}", ids[0]);

        // Importing vectors of another model into this index is one error line, not a stack trace, and changes nothing.
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.Equal(1, await Run(["import", vectors, "--names", names, "--model-id", "another-model", "--index", index]));
        }
        finally
        {
            Console.SetError(previous);
        }

        var line = Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains("'reference-fc2'", line, StringComparison.Ordinal);
        Assert.Contains("'another-model'", line, StringComparison.Ordinal);
        Assert.Equal(0, (await RunJson(["search", "--id", "row1", "--index", index, "--top", "1", "--json"])).Code);
    }

    [SkippableFact]
    public async Task Errors_AreOneLineWithANonZeroExitCode()
    {
        var data = _reference.Data;
        var missingIndex = Path.Combine(data.Folder, "no-such.isvs");
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.Equal(1, await Run(["search", data.Images[0], "--index", missingIndex]));
            Assert.Equal(1, await Run(["info", "--index", missingIndex]));
            Assert.Equal(1, await Run(["index", Path.Combine(data.Folder, "no-such-folder"), "--index", missingIndex, "--weights", data.File("vgg16_zip.pth")]));
        }
        finally
        {
            Console.SetError(previous);
        }

        var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.StartsWith("error: ", l, StringComparison.Ordinal));
        Assert.Contains("no-such.isvs", lines[0], StringComparison.Ordinal);
        Assert.Contains("no-such-folder", lines[2], StringComparison.Ordinal);
        Assert.False(File.Exists(missingIndex));
    }

    private static Task<int> Run(string[] args) => new RootCommand
    {
        IndexCommand.Create(), SearchCommand.Create(), InfoCommand.Create(), ImportCommand.Create(), ExtractCommand.Create(),
    }.Parse(args).InvokeAsync();

    private static async Task<(int Code, JsonElement Json)> RunJson(string[] args)
    {
        var output = new StringWriter();
        var previous = Console.Out;
        Console.SetOut(output);
        int code;
        try
        {
            code = await Run(args);
        }
        finally
        {
            Console.SetOut(previous);
        }

        using var doc = JsonDocument.Parse(output.ToString());
        return (code, doc.RootElement.Clone());
    }
}
