using System.CommandLine;
using System.Text.Json;
using SearchByImage;

namespace ImageSimilarity.Extraction;

/// <summary>The SearchByImage sample's <c>extract</c> command, run in-process on files written by the reference script.</summary>
[Collection(TorchCollection.Name)]
public sealed class ExtractCommandTests
{
    private readonly Vgg16ReferenceFixture _reference;

    public ExtractCommandTests(Vgg16ReferenceFixture reference) => _reference = reference;

    [SkippableFact]
    public async Task Extract_JsonAndRaw_WriteOneVectorPerImageMatchingTheLibrary()
    {
        var data = _reference.Data;
        var json = Path.Combine(data.Folder, "cli.json");
        var raw = Path.Combine(data.Folder, "cli.f32");
        string[] common = ["extract", .. data.Images, "--weights", data.File("vgg16_legacy.pth"), "--precision", "bf16"];

        Assert.Equal(0, await Run([.. common, "--json", "--output", json]));
        Assert.Equal(0, await Run([.. common, "-o", raw]));

        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var items = doc.RootElement.GetProperty("items");
        Assert.Equal(data.Images.Length, items.GetArrayLength());
        Assert.StartsWith("vgg16-fc2/weights-", doc.RootElement.GetProperty("model").GetString(), StringComparison.Ordinal);
        var bytes = await File.ReadAllBytesAsync(raw);
        Assert.Equal(data.Images.Length * 4096 * 4, bytes.Length);
        var rows = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes);
        for (var i = 0; i < data.Images.Length; i++)
        {
            Assert.Equal(data.Images[i], items[i].GetProperty("file").GetString());
            var vector = items[i].GetProperty("vector").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            Assert.Equal(vector, rows.Slice(i * 4096, 4096).ToArray());
            Assert.True(System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(vector, data.Features[i]) >= 0.99f);
        }
    }

    [SkippableFact]
    public async Task Extract_Errors_AreOneLineAndNonZero()
    {
        var data = _reference.Data;
        var output = Path.Combine(data.Folder, "never.json");
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.Equal(1, await Run(["extract", data.Images[0], "--weights", Path.Combine(data.Folder, "missing.pth"), "--json", "-o", output]));
            Assert.Equal(1, await Run(["extract", data.File("manifest.json"), "--weights", data.File("vgg16_zip.pth"), "--json", "-o", output]));
        }
        finally
        {
            Console.SetError(previous);
        }

        var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("error: weights file '", lines[0], StringComparison.Ordinal);
        Assert.Contains("does not exist", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("error: ", lines[1], StringComparison.Ordinal);
        Assert.Contains("manifest.json", lines[1], StringComparison.Ordinal);
    }

    private static Task<int> Run(string[] args)
        => new RootCommand { ExtractCommand.Create() }.Parse(args).InvokeAsync();
}
