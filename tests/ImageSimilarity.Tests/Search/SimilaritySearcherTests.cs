using ImageSimilarity.Imaging;
using ImageSimilarity.Storage;
using SkiaSharp;

namespace ImageSimilarity.Search;

public sealed class SimilaritySearcherTests
{
    [Fact]
    public async Task Constructor_ModelOrDimensionMismatch_ThrowsClearError()
    {
        using var extractor = new HistogramExtractor();
        await using var otherModel = EmbeddedVectorStore.Create(64, "vgg16-fc2");
        var ex = Assert.Throws<ModelMismatchException>(() => new SimilaritySearcher(extractor, otherModel));
        Assert.Contains("vgg16-fc2", ex.Message, StringComparison.Ordinal);
        Assert.Contains(HistogramExtractor.Model, ex.Message, StringComparison.Ordinal);
        Assert.Equal(("vgg16-fc2", HistogramExtractor.Model), (ex.StoredModelId, ex.RequestedModelId));
        await using var otherLength = EmbeddedVectorStore.Create(4096, HistogramExtractor.Model);
        Assert.Contains("4096", Assert.Throws<ModelMismatchException>(() => new SimilaritySearcher(extractor, otherLength)).Message, StringComparison.Ordinal);
        Assert.Equal("extractor", Assert.Throws<ArgumentNullException>(() => new SimilaritySearcher(null!, otherModel)).ParamName);
        Assert.Equal("store", Assert.Throws<ArgumentNullException>(() => new SimilaritySearcher(extractor, null!)).ParamName);
    }

    [Fact]
    public async Task SearchAsync_ByImage_RanksSimilarColoursFirstWithMetadata()
    {
        using var extractor = new HistogramExtractor();
        await using var store = EmbeddedVectorStore.Create(extractor.Dimension, extractor.ModelId);
        var searcher = new SimilaritySearcher(extractor, store);
        var added = await searcher.AddRangeAsync(
        [
            new ImageEntry("red", ImageInput.FromBytes(Png(SKColors.Red, SKColors.Red), "red.png"), new Dictionary<string, string> { ["tag"] = "warm" }),
            new ImageEntry("reddish", ImageInput.FromBytes(Png(SKColors.Red, SKColors.Blue), "reddish.png")),
            new ImageEntry("blue", ImageInput.FromBytes(Png(SKColors.Blue, SKColors.Blue), "blue.png")),
            new ImageEntry("green", ImageInput.FromBytes(Png(SKColors.Lime, SKColors.Lime), "green.png")),
        ]);
        Assert.Equal(4, added);

        using var stream = new MemoryStream(Png(SKColors.Red, SKColors.Red));
        var results = await searcher.SearchAsync(ImageInput.FromStream(stream, "query.png"));
        Assert.Equal(["red", "reddish", "blue", "green"], results.Select(r => r.Id));
        Assert.Equal(1f, results[0].Similarity, 1e-6f);
        Assert.Equal("warm", results[0].Metadata["tag"]);
        Assert.Equal("red.png", results[0].Metadata[RecordMetadata.Path]);
        Assert.Equal(64, results[0].Metadata[RecordMetadata.Sha256].Length);
        Assert.True(results[0].Metadata.ContainsKey(RecordMetadata.IndexedUtc));
    }

    [Fact]
    public async Task SearchAsync_ExcludeQuery_LeavesTheQueryImageOut()
    {
        using var extractor = new HistogramExtractor();
        await using var store = EmbeddedVectorStore.Create(extractor.Dimension, extractor.ModelId);
        var searcher = new SimilaritySearcher(extractor, store);
        var red = Png(SKColors.Red, SKColors.Red);
        using var dir = TestSupport.TestPaths.CreateTempDirectory();
        var redPath = dir.Combine("red.png");
        await File.WriteAllBytesAsync(redPath, red);
        await searcher.AddAsync("red", ImageInput.FromFile(redPath));
        await searcher.AddAsync("red-copy", ImageInput.FromBytes(red));
        await searcher.AddAsync("reddish", ImageInput.FromBytes(Png(SKColors.Red, SKColors.Blue)));
        await searcher.AddAsync("blue", ImageInput.FromBytes(Png(SKColors.Blue, SKColors.Blue)));

        var all = await searcher.SearchAsync(ImageInput.FromFile(redPath), new SearchOptions { Store = new VectorSearchOptions { Top = 2 } });
        Assert.Equal(["red", "red-copy"], all.Select(r => r.Id));
        var excluded = await searcher.SearchAsync(ImageInput.FromFile(redPath), new SearchOptions { Store = new VectorSearchOptions { Top = 2 }, ExcludeQuery = true });
        Assert.Equal(["reddish", "blue"], excluded.Select(r => r.Id));

        // By vector: only the similarity says what the query is.
        var vector = (await store.GetAsync("red"))!.Vector;
        var byVector = await searcher.SearchAsync(vector, new SearchOptions { ExcludeQuery = true });
        Assert.Equal(["reddish", "blue"], byVector.Select(r => r.Id));
    }

    [Fact]
    public async Task AddRangeAsync_ManyImages_BatchesAndReportsProgress()
    {
        using var extractor = new HistogramExtractor();
        await using var store = EmbeddedVectorStore.Create(extractor.Dimension, extractor.ModelId);
        var searcher = new SimilaritySearcher(extractor, store);
        var progress = new List<int>();
        var colours = Enumerable.Range(0, 36).Select(i => new SKColor((byte)(i * 7), (byte)(255 - (i * 7)), (byte)(i * 5))).ToArray();
        var added = await searcher.AddRangeAsync(
            colours.Select((c, i) => new ImageEntry($"c{i}", ImageInput.FromBytes(Png(c, c)))),
            new SyncProgress(progress));
        Assert.Equal(36, added);
        Assert.Equal([16, 32, 36], progress);
        Assert.Equal(3, extractor.Calls);
        Assert.Equal(36, await store.CountAsync());
    }

    [Fact]
    public async Task AddAsync_UndecodableImage_ThrowsAndStoresNothing()
    {
        using var extractor = new HistogramExtractor();
        await using var store = EmbeddedVectorStore.Create(extractor.Dimension, extractor.ModelId);
        var searcher = new SimilaritySearcher(extractor, store);
        await Assert.ThrowsAsync<ImageDecodeException>(() => searcher.AddAsync("bad", ImageInput.FromBytes(new byte[] { 1, 2, 3, 4 }, "bad.bin")));
        Assert.Equal(0, await store.CountAsync());
        Assert.Equal("id", (await Assert.ThrowsAsync<ArgumentException>(() => searcher.AddAsync(string.Empty, ImageInput.FromBytes(new byte[] { 1 })))).ParamName);
    }

    private static byte[] Png(SKColor left, SKColor right)
    {
        using var bitmap = new SKBitmap(32, 16);
        for (var y = 0; y < 16; y++)
        {
            for (var x = 0; x < 32; x++)
            {
                bitmap.SetPixel(x, y, x < 24 ? left : right);
            }
        }

        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private sealed class SyncProgress(List<int> values) : IProgress<int>
    {
        public void Report(int value) => values.Add(value);
    }
}
