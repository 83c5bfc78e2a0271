using ImageSimilarity.Storage;

namespace ImageSimilarity.Duplicates;

public sealed class DuplicateFinderTests
{
    [Fact]
    public async Task FindAsync_ChainsAndSingles_GroupsByUnionFind()
    {
        // a0-a1 and a1-a2 are linked (about 0.995), a0-a2 only 0.98: one group through the chain. b0 and b1 alone.
        await using var store = EmbeddedVectorStore.Create(2, "test");
        await store.UpsertAsync([At("a0", 0), At("a1", 5.7), At("a2", 11.4), At("b0", 60), At("b1", 120)]);
        var progress = new List<DuplicateProgress>();

        var groups = await DuplicateFinder.FindAsync(store, new DuplicateFinderOptions { Threshold = 0.99f, BatchSize = 2, Neighbours = 1 }, new SyncProgress(progress.Add));

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

    private static VectorRecord At(string id, double degrees) =>
        new(id, new[] { (float)Math.Cos(degrees * Math.PI / 180), (float)Math.Sin(degrees * Math.PI / 180) });

    private sealed class SyncProgress(Action<DuplicateProgress> report) : IProgress<DuplicateProgress>
    {
        public void Report(DuplicateProgress value) => report(value);
    }
}
