using ImageSimilarity.Storage;
using ImageSimilarity.TestSupport;

namespace ImageSimilarity.Samples;

/// <summary>The CLI with an index of the old single-file format: <c>info</c> reads it, <c>import</c> converts it.</summary>
[Collection(ImageSimilarity.Extraction.TorchCollection.Name)] // the sequential collection: these tests redirect Console
public sealed class OldIndexCommandsTests
{
    [Fact]
    public async Task InfoAndImport_OnAnOldIndex_DescribeAndConvertIt()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var old = dir.Combine("old.isvs");
        var rows = TestVectors.Random(5, 30, 16);
        await using (var store = EmbeddedVectorStore.Create(16, "keras-fc2"))
        {
            await store.UpsertAsync(rows.Select((r, i) => new VectorRecord($"img{i}.jpeg", r, new Dictionary<string, string> { [RecordMetadata.Path] = $"/p/img{i}.jpeg" })));
            store.Properties["preset"] = "keras-caffe";
            await store.SaveLegacyAsync(old);
        }

        var before = await File.ReadAllBytesAsync(old);
        var (code, info) = await Cli.RunJsonAsync(["info", "--index", old, "--json"]);
        Assert.Equal(0, code);
        Assert.Equal(1, info.GetProperty("formatVersion").GetInt32());
        Assert.Equal(30, info.GetProperty("images").GetInt32());

        var target = dir.Combine("new.db");
        Assert.Equal(0, await Cli.RunAsync(["import", old, "--index", target]));
        Assert.Equal(before, await File.ReadAllBytesAsync(old));
        (code, info) = await Cli.RunJsonAsync(["info", "--index", target, "--json"]);
        Assert.Equal(0, code);
        Assert.Equal(2, info.GetProperty("formatVersion").GetInt32());
        Assert.Equal(30, info.GetProperty("images").GetInt32());
        Assert.Equal("keras-fc2", info.GetProperty("model").GetString());
        Assert.Equal("keras-caffe", info.GetProperty("preset").GetString());

        await using var converted = await EmbeddedVectorStore.OpenAsync(target);
        Assert.Equal("/p/img7.jpeg", (await converted.GetAsync("img7.jpeg"))!.Metadata[RecordMetadata.Path]);
        Assert.Equal("img7.jpeg", (await converted.SearchAsync(rows[7]))[0].Id);

        // Raw-vector import still insists on its names and model id.
        var raw = dir.Combine("v.f32");
        await File.WriteAllBytesAsync(raw, new byte[64]);
        var namesFile = dir.Combine("names.txt");
        await File.WriteAllLinesAsync(namesFile, ["a", "b", "c", "d"]);
        var errors = await Cli.ErrorLinesAsync(async () =>
        {
            Assert.Equal(1, await Cli.RunAsync(["import", raw, "--names", namesFile, "--index", target]));
            Assert.Equal(1, await Cli.RunAsync(["import", raw, "--model-id", "m", "--index", target]));
        });
        Assert.Equal(2, errors.Length);
        Assert.Contains("--model-id", errors[0], StringComparison.Ordinal);
        Assert.Contains("--names", errors[1], StringComparison.Ordinal);
    }
}
