using System.Net;
using System.Text.Json;

namespace SearchByImage.Web;

/// <summary>The optional admin indexing endpoint: off by default, loopback only, progress as Server-Sent Events.</summary>
[Collection(WebCollection.Name)]
public sealed class AdminEndpointTests(SeedIndex index)
{
    [SkippableFact]
    public async Task AdminIndex_IsOffByDefault()
    {
        index.Require();
        await using var factory = new WebAppFactory(index);
        using var client = factory.CreateClient();
        using var response = await client.PostAsync("/admin/index", null);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [SkippableFact]
    public async Task AdminIndex_RefusesConnectionsThatAreNotLoopback()
    {
        index.Require();
        await using var factory = new WebAppFactory(index, new Dictionary<string, string?> { ["SearchByImage:AdminIndexFolder"] = index.ImagesFolder });

        // The in-memory test server has no remote address, which is not loopback.
        using var client = factory.CreateClient();
        using var response = await client.PostAsync("/admin/index", null);
        await response.AssertProblemAsync(403, "admin-local-only");
    }

    [SkippableFact]
    public async Task AdminIndex_FromLoopback_IndexesTheFolderAndStreamsProgress()
    {
        index.Require();
        var folder = Path.Combine(index.Scratch, "admin-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        foreach (var name in new[] { "Dog1.jpeg", "Cat10.jpeg", "grapes2.jpeg", "mango3.jpeg" })
        {
            File.Copy(Path.Combine(index.ImagesFolder, name), Path.Combine(folder, name));
        }

        await File.WriteAllTextAsync(Path.Combine(folder, "readme.txt"), "not an image");
        await using var factory = new WebAppFactory(
            index,
            new Dictionary<string, string?> { ["SearchByImage:AdminIndexFolder"] = folder, ["ImageSimilarity:IndexPath"] = folder + ".db" },
            kestrel: true);
        factory.StartServer();
        using var client = new HttpClient { BaseAddress = factory.ServerAddress };

        using var response = await client.PostAsync("/admin/index", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n');
        var events = lines.Where(l => l.StartsWith("event: ", StringComparison.Ordinal)).Select(l => l["event: ".Length..]).ToList();
        Assert.Contains("progress", events);
        Assert.Equal("done", events[^1]);
        var done = JsonDocument.Parse(lines.Last(l => l.StartsWith("data: ", StringComparison.Ordinal))["data: ".Length..]).RootElement;
        Assert.Equal(4, done.GetProperty("indexed").GetInt32());
        Assert.Equal(1, done.GetProperty("skipped").GetInt32());

        using var status = await client.GetAsync("/api/index");
        Assert.Equal(4, (await status.ReadJsonAsync()).GetProperty("count").GetInt64());
        using var search = await client.GetAsync("/api/search?id=Dog1.jpeg");
        Assert.Equal(3, (await search.ReadJsonAsync()).GetProperty("results").GetArrayLength());
    }
}
