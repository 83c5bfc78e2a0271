using System.Net;
using SkiaSharp;

namespace SearchByImage.Web;

/// <summary>Thumbnails and originals: only records of the index, with caching headers.</summary>
[Collection(WebCollection.Name)]
public sealed class ImageApiTests : IAsyncLifetime
{
    private readonly SeedIndex _index;
    private WebAppFactory? _factory;
    private HttpClient? _client;

    public ImageApiTests(SeedIndex index) => _index = index;

    private HttpClient Client => _client!;

    public Task InitializeAsync()
    {
        if (TestPaths.SeedSample is not null)
        {
            _factory = new WebAppFactory(_index);
            _client = _factory.CreateClient();
        }

        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _client?.Dispose();
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
    }

    [SkippableFact]
    public async Task Thumbnail_IsASmallJpegWithCachingHeaders_AndRevalidates()
    {
        _index.Require();
        using var response = await Client.GetAsync("/api/images/Dog1.jpeg/thumbnail");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/jpeg", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(TimeSpan.FromHours(1), response.Headers.CacheControl?.MaxAge);
        Assert.True(response.Headers.CacheControl?.Public);
        Assert.NotNull(response.Headers.ETag);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        using var bitmap = SKBitmap.Decode(bytes);
        Assert.NotNull(bitmap);
        Assert.Equal(256, Math.Max(bitmap.Width, bitmap.Height));

        using var again = new HttpRequestMessage(HttpMethod.Get, "/api/images/Dog1.jpeg/thumbnail");
        again.Headers.IfNoneMatch.Add(response.Headers.ETag!);
        using var notModified = await Client.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());
    }

    [SkippableFact]
    public async Task Original_IsTheIndexedFile_WithItsTypeFromContent()
    {
        _index.Require();
        foreach (var id in _index.Ids)
        {
            var path = Path.Combine(_index.ImagesFolder, id);
            var head = File.ReadAllBytes(path)[..12];
            var expected = head[0] == 0xFF ? "image/jpeg" : head[0] == 0x89 ? "image/png" : "image/webp";
            using var response = await Client.GetAsync($"/api/images/{Uri.EscapeDataString(id)}/original");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(expected, response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(await File.ReadAllBytesAsync(path), await response.Content.ReadAsByteArrayAsync());
            Assert.NotNull(response.Headers.CacheControl?.MaxAge);
        }
    }

    [SkippableFact]
    public async Task Thumbnails_OfEveryImage_AreServed()
    {
        _index.Require();
        foreach (var id in _index.Ids)
        {
            using var response = await Client.GetAsync($"/api/images/{Uri.EscapeDataString(id)}/thumbnail");
            Assert.True(response.StatusCode == HttpStatusCode.OK, id);
            using var bitmap = SKBitmap.Decode(await response.Content.ReadAsByteArrayAsync());
            Assert.True(bitmap is not null && bitmap.Width <= 256 && bitmap.Height <= 256, id);
        }
    }

    [SkippableFact]
    public async Task Page_HasAntiforgery_AndTheFormPostRequiresIt()
    {
        _index.Require();
        var bytes = await File.ReadAllBytesAsync(Path.Combine(_index.ImagesFolder, "Cat10.jpeg"));
        using var noToken = await Client.PostAsync("/search", Http.Upload(bytes, "Cat10.jpeg"));
        await noToken.AssertProblemAsync(400, "antiforgery");

        // A client that keeps cookies, like a browser.
        using var browserLike = _factory!.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { HandleCookies = true });
        using var page = await browserLike.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("no-store", page.Headers.CacheControl?.ToString());
        Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        var html = await page.Content.ReadAsStringAsync();
        Assert.DoesNotContain("%ANTIFORGERY_TOKEN%", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        var marker = "name=\"__RequestVerificationToken\" value=\"";
        var start = html.IndexOf(marker, StringComparison.Ordinal) + marker.Length;
        var token = html[start..html.IndexOf('"', start)];

        using var wrongToken = Http.Upload(bytes, "Cat10.jpeg");
        wrongToken.Add(new StringContent(token[..^4] + "AAAA"), "__RequestVerificationToken");
        using var refused = await browserLike.PostAsync("/search", wrongToken);
        await refused.AssertProblemAsync(400, "antiforgery");

        using var form = Http.Upload(bytes, "Cat10.jpeg");
        form.Add(new StringContent(token), "__RequestVerificationToken");
        using var accepted = await browserLike.PostAsync("/search", form);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal("Cat10.jpeg", (await accepted.ReadJsonAsync()).GetProperty("results")[0].GetProperty("id").GetString());

        foreach (var asset in new[] { "/app.js", "/app.css", "/favicon.svg" })
        {
            using var r = await Client.GetAsync(asset);
            Assert.True(r.StatusCode == HttpStatusCode.OK, asset);
        }
    }
}
