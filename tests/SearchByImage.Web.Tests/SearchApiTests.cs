using System.Net;
using System.Text;
using ImageSimilarity.Storage;

namespace SearchByImage.Web;

/// <summary>The search API against the real app, the real VGG16 code (random weights) and a real index of the seed sample.</summary>
[Collection(WebCollection.Name)]
public sealed class SearchApiTests : IAsyncLifetime
{
    private readonly SeedIndex _index;
    private WebAppFactory? _factory;
    private HttpClient? _client;

    public SearchApiTests(SeedIndex index) => _index = index;

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
    public async Task SearchByUpload_EveryKindOfSeedImage_FindsItselfFirst()
    {
        _index.Require();
        var kinds = new Dictionary<string, string>();
        foreach (var path in Directory.EnumerateFiles(_index.ImagesFolder).Order(StringComparer.Ordinal))
        {
            var head = new byte[12];
            using (var f = File.OpenRead(path))
            {
                f.ReadExactly(head);
            }

            var kind = head[0] == 0xFF ? "jpeg" : head[0] == 0x89 ? "png" : head[8] == (byte)'W' ? "webp" : "other";
            kinds.TryAdd(kind, path);
        }

        Assert.Equal(["jpeg", "png", "webp"], kinds.Keys.Order(StringComparer.Ordinal));
        foreach (var (kind, path) in kinds)
        {
            using var response = await Client.PostAsync("/api/search", Http.Upload(await File.ReadAllBytesAsync(path), Path.GetFileName(path)));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{kind} {path}: {await response.Content.ReadAsStringAsync()}");
            var body = await response.ReadJsonAsync();
            var results = body.GetProperty("results").EnumerateArray().ToList();
            Assert.Equal(9, results.Count);
            Assert.Equal(Path.GetFileName(path), results[0].GetProperty("id").GetString());
            Assert.True(results[0].GetProperty("similarity").GetSingle() > 0.999f, kind);
            var scores = results.Select(r => r.GetProperty("similarity").GetSingle()).ToList();
            Assert.Equal(scores.OrderDescending(), scores);
            Assert.StartsWith("/api/images/", results[0].GetProperty("thumbnailUrl").GetString(), StringComparison.Ordinal);
            Assert.False(results[0].GetProperty("metadata").TryGetProperty(RecordMetadata.Path, out _), "server paths are not exposed");
            Assert.Equal(Path.GetFileName(path), body.GetProperty("query").GetProperty("name").GetString());
        }
    }

    [SkippableFact]
    public async Task SearchByUpload_TopAndMinScore_AreHonoured()
    {
        _index.Require();
        var bytes = await File.ReadAllBytesAsync(Path.Combine(_index.ImagesFolder, "Dog1.jpeg"));
        using var many = await Client.PostAsync("/api/search?top=20", Http.Upload(bytes, "Dog1.jpeg"));
        var all = (await many.ReadJsonAsync()).GetProperty("results").EnumerateArray().Select(r => r.GetProperty("similarity").GetSingle()).ToList();
        Assert.Equal(20, all.Count);

        var threshold = all[5];
        using var form = Http.Upload(bytes, "Dog1.jpeg", top: "20");
        form.Add(new StringContent(threshold.ToString("R", System.Globalization.CultureInfo.InvariantCulture)), "minScore");
        using var filtered = await Client.PostAsync("/api/search", form);
        var kept = (await filtered.ReadJsonAsync()).GetProperty("results").EnumerateArray().Select(r => r.GetProperty("similarity").GetSingle()).ToList();
        Assert.Equal(all.Count(s => s >= threshold), kept.Count);
        Assert.All(kept, s => Assert.True(s >= threshold));

        using var bad = await Client.PostAsync("/api/search?top=0", Http.Upload(bytes, "Dog1.jpeg"));
        await bad.AssertProblemAsync(400, "invalid-top");
        using var badScore = await Client.PostAsync("/api/search?minScore=2", Http.Upload(bytes, "Dog1.jpeg"));
        await badScore.AssertProblemAsync(400, "invalid-min-score");
    }

    [SkippableFact]
    public async Task SearchByUpload_TruncatedJpeg_Is422()
    {
        _index.Require();
        var bytes = await File.ReadAllBytesAsync(Path.Combine(_index.ImagesFolder, "Dog1.jpeg"));
        using var response = await Client.PostAsync("/api/search", Http.Upload(bytes[..(bytes.Length / 3)], "Dog1.jpeg"));
        var problem = await response.AssertProblemAsync(422, "undecodable-image");
        Assert.Contains("Dog1.jpeg", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task SearchByUpload_TextFileNamedJpg_Is415()
    {
        _index.Require();
        using var response = await Client.PostAsync("/api/search", Http.Upload(Encoding.UTF8.GetBytes("this is not a picture\n"), "notes.jpg"));
        var problem = await response.AssertProblemAsync(415, "not-an-image");
        Assert.Contains("notes.jpg", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task SearchByUpload_100000x100000PngHeader_IsRefusedBeforeDecoding()
    {
        _index.Require();
        var bomb = TestImages.Png(100_000, 100_000, 8, 6, new byte[64]);
        var before = GC.GetTotalAllocatedBytes(precise: true);
        using var response = await Client.PostAsync("/api/search", Http.Upload(bomb, "bomb.png"));
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        var problem = await response.AssertProblemAsync(413, "image-too-large");
        Assert.Contains("100000x100000", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.True(allocated < 200L * 1024 * 1024, $"{allocated:N0} bytes allocated: the pixels must not be");
    }

    [SkippableFact]
    public async Task SearchByUpload_OverTheAppsPixelLimit_Is413()
    {
        _index.Require();

        // 7000 x 7000 = 49 MP: under the library's default of 100 MP, over the app's default of 40 MP.
        var big = TestImages.Png(7000, 7000, 8, 2, new byte[64]);
        using var response = await Client.PostAsync("/api/search", Http.Upload(big, "big.png"));
        var problem = await response.AssertProblemAsync(413, "image-too-large");
        Assert.Contains("40,000,000", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task SearchByUpload_OversizeBody_Is413()
    {
        _index.Require();
        var big = new byte[(20 * 1024 * 1024) + 1];
        big[0] = 0xFF;
        big[1] = 0xD8;
        big[2] = 0xFF;
        using var response = await Client.PostAsync("/api/search", Http.Upload(big, "huge.jpeg"));
        await response.AssertProblemAsync(413, "upload-too-large");

        // Without a Content-Length (chunked), the multipart reader stops at the limit.
        var content = Http.Upload(big, "huge.jpeg");
        content.Headers.ContentLength = null;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/search") { Content = new ChunkedContent(content) };
        using var chunked = await Client.SendAsync(request);
        await chunked.AssertProblemAsync(413, "upload-too-large");
    }

    [SkippableFact]
    public async Task SearchByUpload_NotMultipartOrNoImage_IsAProblem()
    {
        _index.Require();
        using var json = await Client.PostAsync("/api/search", new StringContent("{}", Encoding.UTF8, "application/json"));
        await json.AssertProblemAsync(415, "not-multipart");
        using var empty = new MultipartFormDataContent { { new StringContent("9"), "top" } };
        using var noImage = await Client.PostAsync("/api/search", empty);
        await noImage.AssertProblemAsync(400, "missing-image");
    }

    [SkippableFact]
    public async Task SearchById_ReturnsOtherImagesWithoutTheQuery()
    {
        _index.Require();
        using var response = await Client.GetAsync("/api/search?id=Dog1.jpeg");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.ReadJsonAsync();
        var ids = body.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToList();
        Assert.Equal(9, ids.Count);
        Assert.DoesNotContain("Dog1.jpeg", ids);
        Assert.All(ids, id => Assert.Contains(id, _index.Ids));
        Assert.Equal("Dog1.jpeg", body.GetProperty("query").GetProperty("id").GetString());

        // The same ranking as the upload of the same file, minus the file itself.
        var bytes = await File.ReadAllBytesAsync(Path.Combine(_index.ImagesFolder, "Dog1.jpeg"));
        using var upload = await Client.PostAsync("/api/search?top=10", Http.Upload(bytes, "Dog1.jpeg"));
        var uploadIds = (await upload.ReadJsonAsync()).GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetString()).Skip(1).ToList();
        Assert.Equal(uploadIds, ids);
    }

    [SkippableTheory]
    [InlineData("/api/search?id=..%2F..%2Fetc%2Fpasswd")]
    [InlineData("/api/search?id=%2Fetc%2Fpasswd")]
    [InlineData("/api/images/..%2F..%2F..%2Fetc%2Fpasswd/thumbnail")]
    [InlineData("/api/images/..%2F..%2F..%2Fetc%2Fpasswd/original")]
    [InlineData("/api/images/%2Fetc%2Fpasswd/original")]
    [InlineData("/api/images/..%5C..%5Cwindows%5Cwin.ini/original")]
    [InlineData("/api/images/Dog1.jpeg%2F..%2F..%2F..%2Fetc%2Fpasswd/original")]
    [InlineData("/api/search?id=no-such-image.jpeg")]
    public async Task IdsThatAreNotInTheIndex_Are404Problems(string url)
    {
        _index.Require();
        using var response = await Client.GetAsync(url);
        await response.AssertProblemAsync(404, "not-found");
    }

    [SkippableFact]
    public async Task AbsolutePathOfAnIndexedFile_IsNotAnId()
    {
        _index.Require();
        var absolute = Path.Combine(_index.ImagesFolder, "Dog1.jpeg");
        using var response = await Client.GetAsync($"/api/images/{Uri.EscapeDataString(absolute)}/original");
        await response.AssertProblemAsync(404, "not-found");
        using var search = await Client.GetAsync($"/api/search?id={Uri.EscapeDataString(absolute)}");
        await search.AssertProblemAsync(404, "not-found");
    }

    [SkippableFact]
    public async Task ConcurrentSearches_AllSucceedAndAgree()
    {
        _index.Require();
        var dog = await File.ReadAllBytesAsync(Path.Combine(_index.ImagesFolder, "Dog1.jpeg"));
        var uploads = Enumerable.Range(0, 6).Select(async _ =>
        {
            using var r = await Client.PostAsync("/api/search", Http.Upload(dog, "Dog1.jpeg"));
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            return string.Join(",", (await r.ReadJsonAsync()).GetProperty("results").EnumerateArray().Select(x => x.GetProperty("id").GetString()));
        });
        var byId = _index.Ids.Take(24).Select(async id =>
        {
            using var r = await Client.GetAsync($"/api/search?id={Uri.EscapeDataString(id)}");
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            return id;
        });
        var rankings = await Task.WhenAll(uploads);
        await Task.WhenAll(byId);
        Assert.Single(rankings.Distinct());
    }

    [SkippableFact]
    public async Task IndexStatus_DescribesTheSeedIndex()
    {
        _index.Require();
        using var response = await Client.GetAsync("/api/index");
        var body = await response.ReadJsonAsync();
        Assert.Equal(_index.Ids.Count, body.GetProperty("count").GetInt64());
        Assert.Equal(88, body.GetProperty("count").GetInt64());
        Assert.StartsWith("vgg16-fc2/weights-", body.GetProperty("model").GetString(), StringComparison.Ordinal);
        Assert.Equal(4096, body.GetProperty("dimension").GetInt32());
        Assert.Equal("BFloat16", body.GetProperty("extractionPrecision").GetString());
        Assert.Equal("index.db", body.GetProperty("indexFile").GetString());
        Assert.Equal(9, body.GetProperty("defaultTop").GetInt32());
        Assert.Equal(20 * 1024 * 1024, body.GetProperty("maxUploadBytes").GetInt64());
    }

    [SkippableFact]
    public async Task HealthAndOpenApi_AreServed()
    {
        _index.Require();
        using var health = await Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", await health.Content.ReadAsStringAsync());

        using var openApi = await Client.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, openApi.StatusCode);
        var doc = await openApi.ReadJsonAsync();
        var paths = doc.GetProperty("paths");
        foreach (var path in new[] { "/api/search", "/api/images/{id}/thumbnail", "/api/images/{id}/original", "/api/index" })
        {
            Assert.True(paths.TryGetProperty(path, out _), path);
        }

        Assert.True(paths.GetProperty("/api/search").GetProperty("post").GetProperty("requestBody").GetProperty("content").TryGetProperty("multipart/form-data", out _));
        Assert.True(paths.GetProperty("/api/search").GetProperty("post").GetProperty("responses").TryGetProperty("503", out _));
        Assert.False(paths.TryGetProperty("/search", out _), "the page's form post is not part of the API");
        Assert.True(paths.GetProperty("/api/search").TryGetProperty("get", out _));
    }

    [SkippableFact]
    public async Task UnknownRoutesAndDirectories_AreProblemsNotListings()
    {
        _index.Require();
        using var missing = await Client.GetAsync("/no/such/page");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
        using var folder = await Client.GetAsync("/api/images/");
        Assert.Equal(HttpStatusCode.NotFound, folder.StatusCode);
        Assert.DoesNotContain("Dog1", await folder.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    /// <summary>Sends the inner content without a Content-Length, as a chunked upload does.</summary>
    private sealed class ChunkedContent : HttpContent
    {
        private readonly HttpContent _inner;

        public ChunkedContent(HttpContent inner)
        {
            _inner = inner;
            Headers.ContentType = inner.Headers.ContentType;
        }

        protected override void Dispose(bool disposing)
        {
            _inner.Dispose();
            base.Dispose(disposing);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => _inner.CopyToAsync(stream);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
