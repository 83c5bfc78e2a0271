using System.Net;

namespace SearchByImage.Web;

/// <summary>
/// The README's commands in a row: the CLI indexes with the pretrained ResNet18 (no download), then the app serves that
/// index with the model the index records, without being told which.
/// </summary>
[Collection(WebCollection.Name)]
public sealed class ResNet18IndexTests(SeedIndex index)
{
    [SkippableFact]
    public async Task IndexBuiltWithResNet18_IsServedWithResNet18_AndFindsTheSameKind()
    {
        index.Require();
        var folder = Path.Combine(index.Scratch, "resnet18-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        var indexPath = folder + ".db";
        string[] names = ["Dog1.jpeg", "Dog3.jpeg", "Dog5.jpeg", "Cat10.jpeg", "Cat12.jpeg", "Cat13.jpeg", "grapes2.jpeg", "grapes10.jpeg", "mango3.jpeg"];
        foreach (var name in names)
        {
            File.Copy(Path.Combine(index.ImagesFolder, name), Path.Combine(folder, name));
        }

        await SearchByImageCli.RunAsync("index", folder, "--index", indexPath, "--model", "resnet18", "--json");

        await using var factory = new WebAppFactory(index, new Dictionary<string, string?> { ["ImageSimilarity:IndexPath"] = indexPath });
        using var client = factory.CreateClient();
        using (var status = await client.GetAsync("/api/index"))
        {
            var json = await status.ReadJsonAsync();
            Assert.Equal(names.Length, json.GetProperty("count").GetInt64());
            Assert.Equal(512, json.GetProperty("dimension").GetInt32());
            Assert.Contains("resnet18", json.GetProperty("model").GetString(), StringComparison.Ordinal);
        }

        // An upload goes through the model the index recorded: the same image comes first, then the other dogs.
        using var upload = await client.PostAsync("/api/search?top=3", Http.Upload(await File.ReadAllBytesAsync(Path.Combine(folder, "Dog1.jpeg")), "query.jpeg"));
        Assert.Equal(HttpStatusCode.OK, upload.StatusCode);
        var results = (await upload.ReadJsonAsync()).GetProperty("results").EnumerateArray().ToList();
        Assert.Equal("Dog1.jpeg", results[0].GetProperty("id").GetString());
        Assert.True(results[0].GetProperty("similarity").GetDouble() > 0.999);
        Assert.All(results.Skip(1), r => Assert.StartsWith("Dog", r.GetProperty("id").GetString(), StringComparison.Ordinal));
    }
}
