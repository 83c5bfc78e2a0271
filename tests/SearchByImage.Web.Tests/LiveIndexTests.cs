using System.Net;

namespace SearchByImage.Web;

/// <summary>The CLI adds images to the index while the app serves it: they show up without a restart (the SQLite store is shared between processes).</summary>
[Collection(WebCollection.Name)]
public sealed class LiveIndexTests(SeedIndex index)
{
    [SkippableFact]
    public async Task CliIndexesWhileAppRuns_NewImagesAppearWithoutRestart()
    {
        index.Require();
        var folder = Path.Combine(index.Scratch, "live-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        var indexPath = Path.Combine(folder + ".db");
        var first = new[] { "Cat10.jpeg", "Cat12.jpeg", "Cat13.jpeg", "grapes2.jpeg", "mango3.jpeg" };
        var later = new[] { "Dog1.jpeg", "Dog3.jpeg", "grapes10.jpeg" };
        foreach (var name in first)
        {
            File.Copy(Path.Combine(index.ImagesFolder, name), Path.Combine(folder, name));
        }

        await SearchByImageCli.RunAsync("index", folder, "--index", indexPath, "--weights", index.WeightsPath, "--precision", "bf16", "--json");

        await using var factory = new WebAppFactory(index, new Dictionary<string, string?> { ["ImageSimilarity:IndexPath"] = indexPath });
        using var client = factory.CreateClient();
        Assert.Equal(first.Length, await CountAsync(client));
        using (var missing = await client.GetAsync("/api/search?id=Dog1.jpeg"))
        {
            await missing.AssertProblemAsync(404, "not-found");
        }

        // Another process (the CLI) adds three images to the same index file while the app keeps running.
        foreach (var name in later)
        {
            File.Copy(Path.Combine(index.ImagesFolder, name), Path.Combine(folder, name));
        }

        await SearchByImageCli.RunAsync("index", folder, "--index", indexPath, "--weights", index.WeightsPath, "--precision", "bf16", "--json");

        Assert.Equal(first.Length + later.Length, await CountAsync(client));
        using var byId = await client.GetAsync("/api/search?id=Dog1.jpeg&top=20");
        Assert.Equal(HttpStatusCode.OK, byId.StatusCode);
        var ids = (await byId.ReadJsonAsync()).GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToList();
        Assert.Equal(first.Length + later.Length - 1, ids.Count);
        Assert.Contains("Dog3.jpeg", ids);

        using var upload = await client.PostAsync("/api/search", Http.Upload(await File.ReadAllBytesAsync(Path.Combine(folder, "grapes10.jpeg")), "grapes10.jpeg"));
        Assert.Equal("grapes10.jpeg", (await upload.ReadJsonAsync()).GetProperty("results")[0].GetProperty("id").GetString());
        using var thumbnail = await client.GetAsync("/api/images/Dog3.jpeg/thumbnail");
        Assert.Equal(HttpStatusCode.OK, thumbnail.StatusCode);
    }

    private static async Task<long> CountAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/api/index");
        return (await response.ReadJsonAsync()).GetProperty("count").GetInt64();
    }
}
