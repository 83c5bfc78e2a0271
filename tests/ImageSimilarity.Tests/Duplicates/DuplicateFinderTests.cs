using ImageSimilarity.Storage;

namespace ImageSimilarity.Duplicates;

public sealed class DuplicateFinderTests
{
    [Fact]
    public async Task FindAsync_ChainsWithoutKeeperGuard_GroupsByUnionFind()
    {
        // a0-a1 and a1-a2 are linked (about 0.995), a0-a2 only 0.98: one group through the chain. b0 and b1 alone.
        await using var store = EmbeddedVectorStore.Create(2, "test");
        await store.UpsertAsync([At("a0", 0), At("a1", 5.7), At("a2", 11.4), At("b0", 60), At("b1", 120)]);
        var progress = new List<DuplicateProgress>();

        var groups = await DuplicateFinder.FindAsync(store, new DuplicateFinderOptions { Threshold = 0.99f, BatchSize = 2, Neighbours = 1, RequireSimilarityToKeeper = false }, new SyncProgress(progress.Add));

        var group = Assert.Single(groups);
        Assert.Equal(["a0", "a1", "a2"], group.Members.Select(m => m.Id).Order(StringComparer.Ordinal));
        Assert.Equal("a0", group.Keeper.Id); // no files: equal pixels and times, so the smallest id
        Assert.Equal(1f, group.Keeper.Similarity);
        Assert.Equal(["a0", "a1", "a2"], group.Members.Select(m => m.Id)); // by similarity to the keeper
        Assert.Equal([2L, 4, 5], progress.Select(p => p.Searched));
        Assert.All(progress, p => Assert.Equal(5, p.Total));
        Assert.Equal(2, progress[^1].Links);
    }

    [Fact]
    public async Task FindAsync_KeeperGuard_SplitsAChainOfDistinctImages()
    {
        // Two distinct images x0 (0 degrees) and y0 (11.4 degrees, similarity 0.980 < 0.99) and a copy c between them
        // (5.7 degrees: 0.995 to both). Union-find alone chains x0 - c - y0 into one group; with the guard every member
        // must be at or above the threshold to its keeper (x0: the smallest id, as no file sizes are known).
        await using var store = EmbeddedVectorStore.Create(2, "test");
        await store.UpsertAsync([At("x0", 0), At("x1c", 5.7), At("y0", 11.4), At("y1", 12), At("z", 90)]);

        var groups = await DuplicateFinder.FindAsync(store, new DuplicateFinderOptions { Threshold = 0.99f, BatchSize = 3 });

        Assert.Equal(2, groups.Count);
        Assert.Equal(["x0", "x1c"], groups.Single(g => g.Keeper.Id == "x0").Members.Select(m => m.Id));
        Assert.Equal(["y0", "y1"], groups.Single(g => g.Keeper.Id == "y0").Members.Select(m => m.Id));
        Assert.All(groups.SelectMany(g => g.Members), m => Assert.True(m.Similarity >= 0.99f, $"{m.Id} {m.Similarity}"));

        var chained = await DuplicateFinder.FindAsync(store, new DuplicateFinderOptions { Threshold = 0.99f, BatchSize = 3, RequireSimilarityToKeeper = false });
        Assert.Equal(["x0", "x1c", "y0", "y1"], Assert.Single(chained).Members.Select(m => m.Id).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("resnet18/onnx-1a2b3c4d/resize256-crop224-bgr-mean", DuplicateFinderOptions.DefaultResNet18Threshold)]
    [InlineData("vgg16-fc2/imagenet/torchvision", DuplicateFinderOptions.DefaultThreshold)]
    [InlineData("mymodel/onnx-00ff/resize224", DuplicateFinderOptions.DefaultThreshold)]
    public void DefaultThresholdFor_ModelId_IsTheMeasuredDefaultOfThatModel(string modelId, float expected)
        => Assert.Equal(expected, DuplicateFinderOptions.DefaultThresholdFor(modelId));

    [Fact]
    public async Task FindAsync_NoThreshold_UsesTheDefaultOfTheStoresModel()
    {
        // Two vectors at cosine 0.95: below the VGG16 default (0.981) and above the ResNet18 default.
        var a = At("a", 0);
        var b = At("b", Math.Acos(0.95) * 180 / Math.PI);
        await using var resnet = EmbeddedVectorStore.Create(2, "resnet18/onnx-test/x");
        await resnet.UpsertAsync([a, b]);
        await using var vgg = EmbeddedVectorStore.Create(2, "vgg16-fc2/test/torchvision");
        await vgg.UpsertAsync([a, b]);

        Assert.Single(await DuplicateFinder.FindAsync(resnet));
        Assert.Empty(await DuplicateFinder.FindAsync(vgg));
    }

    [Fact]
    public async Task FindAsync_StoreWithoutBatchedSearch_SameGroupsAsTheEmbeddedStore()
    {
        // Any IVectorStore works: a store that only has IVectorStore.SearchAsync gets concurrent single searches.
        var records = Enumerable.Range(0, 40).Select(i => At($"r{i:D2}", (i / 4 * 9) + (i % 4 * 0.3))).ToArray();
        await using var embedded = EmbeddedVectorStore.Create(2, "test");
        await embedded.UpsertAsync(records);
        await using var plain = new SingleSearchStore(embedded);

        var expected = await DuplicateFinder.FindAsync(embedded, new DuplicateFinderOptions { Threshold = 0.999f, BatchSize = 7 });
        var actual = await DuplicateFinder.FindAsync(plain, new DuplicateFinderOptions { Threshold = 0.999f, BatchSize = 7 });

        Assert.Equal(10, expected.Count);
        Assert.Equal(Describe(expected), Describe(actual));
        Assert.True(plain.Searches >= 40);
    }

    [Fact]
    public async Task FindAsync_Cancelled_Throws()
    {
        await using var store = EmbeddedVectorStore.Create(2, "test");
        await store.UpsertAsync([At("a", 0), At("b", 1)]);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => DuplicateFinder.FindAsync(store, null, null, cts.Token));
    }

    [Fact]
    public async Task FindAsync_EmptyStore_NoGroups()
    {
        await using var store = EmbeddedVectorStore.Create(2, "test");
        Assert.Empty(await DuplicateFinder.FindAsync(store));
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(1.01f)]
    [InlineData(float.NaN)]
    public void Threshold_OutOfRange_Throws(float threshold) =>
        Assert.Equal("Threshold", Assert.Throws<ArgumentOutOfRangeException>(() => new DuplicateFinderOptions { Threshold = threshold }).ParamName);

    private static string[] Describe(IReadOnlyList<DuplicateGroup> groups)
        => groups.Select(g => string.Join(",", g.Members.Select(m => $"{m.Id}:{m.Similarity:F5}"))).ToArray();

    private static VectorRecord At(string id, double degrees) =>
        new(id, new[] { (float)Math.Cos(degrees * Math.PI / 180), (float)Math.Sin(degrees * Math.PI / 180) });

    /// <summary>An <see cref="IVectorStore"/> with nothing but the interface (no batched search), over an embedded store.</summary>
    private sealed class SingleSearchStore(EmbeddedVectorStore inner) : IVectorStore
    {
        private int _searches;

        public int Searches => Volatile.Read(ref _searches);

        public int Dimension => inner.Dimension;

        public string ModelId => inner.ModelId;

        public Task<long> CountAsync(CancellationToken cancellationToken = default) => inner.CountAsync(cancellationToken);

        public Task UpsertAsync(IEnumerable<VectorRecord> records, CancellationToken cancellationToken = default) => inner.UpsertAsync(records, cancellationToken);

        public Task<VectorRecord?> GetAsync(string id, CancellationToken cancellationToken = default) => inner.GetAsync(id, cancellationToken);

        public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default) => inner.DeleteAsync(id, cancellationToken);

        public IAsyncEnumerable<VectorRecord> ListAsync(CancellationToken cancellationToken = default) => inner.ListAsync(cancellationToken);

        public Task<IReadOnlyList<VectorSearchResult>> SearchAsync(ReadOnlyMemory<float> query, VectorSearchOptions? options = null, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _searches);
            return inner.SearchAsync(query, options, cancellationToken);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class SyncProgress(Action<DuplicateProgress> report) : IProgress<DuplicateProgress>
    {
        public void Report(DuplicateProgress value) => report(value);
    }
}
