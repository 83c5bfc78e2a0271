namespace ImageSimilarity.Storage;

public sealed class EmbeddedVectorStoreTests
{
    private static readonly Dictionary<string, string> Cats = new() { ["kind"] = "cat" };

    [Fact]
    public void Create_InvalidArguments_ThrowWithParameterName()
    {
        Assert.Equal("dimension", Assert.Throws<ArgumentOutOfRangeException>(() => EmbeddedVectorStore.Create(0, "m")).ParamName);
        Assert.Equal("modelId", Assert.Throws<ArgumentException>(() => EmbeddedVectorStore.Create(4, " ")).ParamName);
        Assert.Equal("modelId", Assert.Throws<ArgumentNullException>(() => EmbeddedVectorStore.Create(4, null!)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new EmbeddedVectorStoreOptions { MaxDegreeOfParallelism = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new EmbeddedVectorStoreOptions { Precision = (VectorPrecision)7 });
    }

    [Fact]
    public async Task UpsertAsync_InvalidVectors_AreRefusedWithTheIdInTheMessage()
    {
        await using var store = EmbeddedVectorStore.Create(3, "m");
        var wrongLength = await Assert.ThrowsAsync<ArgumentException>(() => store.UpsertAsync(new VectorRecord("a", new float[] { 1, 2 })));
        Assert.Equal("records", wrongLength.ParamName);
        Assert.Contains("'a'", wrongLength.Message, StringComparison.Ordinal);
        Assert.Contains("3", wrongLength.Message, StringComparison.Ordinal);
        var nan = await Assert.ThrowsAsync<ArgumentException>(() => store.UpsertAsync(new VectorRecord("b", new[] { 1f, float.NaN, 0 })));
        Assert.Contains("NaN", nan.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => store.UpsertAsync(new VectorRecord("c", new[] { 1f, float.PositiveInfinity, 0 })));
        var zero = await Assert.ThrowsAsync<ArgumentException>(() => store.UpsertAsync(new VectorRecord("d", new float[3])));
        Assert.Contains("zero", zero.Message, StringComparison.Ordinal);
        Assert.Equal(0, await store.CountAsync());
        var query = await Assert.ThrowsAsync<ArgumentException>(() => store.SearchAsync(new float[3]));
        Assert.Equal("query", query.ParamName);
        await Assert.ThrowsAsync<ArgumentNullException>(() => store.UpsertAsync((IEnumerable<VectorRecord>)null!));
    }

    [Fact]
    public async Task Results_Metadata_IsReadOnlyAndCannotChangeTheStore()
    {
        await using var store = EmbeddedVectorStore.Create(2, "m");
        var given = new Dictionary<string, string> { ["kind"] = "cat" };
        await store.UpsertAsync(new VectorRecord("a", new[] { 1f, 0f }, given));
        given["kind"] = "changed by the caller after the upsert";

        var fromGet = (await store.GetAsync("a"))!.Metadata;
        var fromSearch = (await store.SearchAsync(new[] { 1f, 0f }))[0].Metadata;
        var fromList = (await store.ListAsync().ToListAsync())[0].Metadata;

        foreach (var metadata in new[] { fromGet, fromSearch, fromList })
        {
            var asMutable = Assert.IsAssignableFrom<IDictionary<string, string>>(metadata);
            Assert.True(asMutable.IsReadOnly);
            Assert.Throws<NotSupportedException>(() => asMutable["kind"] = "dog");
        }

        Assert.Equal("cat", (await store.GetAsync("a"))!.Metadata["kind"]);
    }

    [Fact]
    public async Task UpsertAsync_HugeAndTinyValues_AreNormalised()
    {
        await using var store = EmbeddedVectorStore.Create(2, "m");
        await store.UpsertAsync([new VectorRecord("huge", new[] { 3e38f, 3e38f }), new VectorRecord("tiny", new[] { 1e-40f, 0f })]);
        var huge = await store.GetAsync("huge");
        Assert.Equal(MathF.Sqrt(0.5f), huge!.Vector.Span[0], 1e-6f);
        var tiny = await store.GetAsync("tiny");
        Assert.Equal(1f, tiny!.Vector.Span[0], 1e-6f);
    }

    [Fact]
    public async Task GetAsync_ReturnsUnitVectorAndMetadata_UpsertReplaces()
    {
        await using var store = EmbeddedVectorStore.Create(2, "m");
        await store.UpsertAsync(new VectorRecord("a", new[] { 3f, 4f }, Cats));
        var a = await store.GetAsync("a");
        Assert.Equal(new[] { 0.6f, 0.8f }, a!.Vector.ToArray());
        Assert.Equal("cat", a.Metadata["kind"]);
        await store.UpsertAsync(new VectorRecord("a", new[] { 0f, 2f }));
        a = await store.GetAsync("a");
        Assert.Equal(new[] { 0f, 1f }, a!.Vector.ToArray());
        Assert.Empty(a.Metadata);
        Assert.Equal(1, await store.CountAsync());
        Assert.Null(await store.GetAsync("missing"));
    }

    [Fact]
    public async Task DeleteAsync_RemovesAndReusesTheSlot()
    {
        await using var store = EmbeddedVectorStore.Create(2, "m");
        await store.UpsertAsync([new VectorRecord("a", new[] { 1f, 0f }), new VectorRecord("b", new[] { 0f, 1f })]);
        Assert.True(await store.DeleteAsync("a"));
        Assert.False(await store.DeleteAsync("a"));
        var results = await store.SearchAsync(new[] { 1f, 0f });
        Assert.Equal(["b"], results.Select(r => r.Id));
        await store.UpsertAsync(new VectorRecord("c", new[] { 1f, 1f }));
        Assert.Equal(["c", "b"], (await store.SearchAsync(new[] { 1f, 0f })).Select(r => r.Id));
        Assert.Equal(2, store.Count);
        Assert.Equal(["c", "b"], store.GetIds());
    }

    [Fact]
    public async Task SearchAsync_OptionsFilterThresholdAndExclusion_AreApplied()
    {
        await using var store = EmbeddedVectorStore.Create(2, "m");
        await store.UpsertAsync(
        [
            new VectorRecord("a", new[] { 1f, 0f }, Cats),
            new VectorRecord("b", new[] { 1f, 0.1f }),
            new VectorRecord("c", new[] { 1f, 1f }, Cats),
            new VectorRecord("d", new[] { -1f, 0f }, Cats),
        ]);
        var query = new[] { 1f, 0f };
        Assert.Equal(["a", "b", "c", "d"], (await store.SearchAsync(query, new VectorSearchOptions { Top = 100 })).Select(r => r.Id));
        Assert.Equal(["a", "b"], (await store.SearchAsync(query, new VectorSearchOptions { Top = 2 })).Select(r => r.Id));
        Assert.Equal(["a", "c", "d"], (await store.SearchAsync(query, new VectorSearchOptions { MetadataEquals = Cats })).Select(r => r.Id));
        Assert.Equal(["a", "b"], (await store.SearchAsync(query, new VectorSearchOptions { MinSimilarity = 0.9f })).Select(r => r.Id));
        Assert.Equal(["b", "c"], (await store.SearchAsync(query, new VectorSearchOptions { ExcludeIds = new HashSet<string> { "a" }, MinSimilarity = 0f })).Select(r => r.Id));
        var results = await store.SearchAsync(query);
        Assert.Equal(1f, results[0].Similarity);
        Assert.Equal(-1f, results[3].Similarity);
        Assert.Equal("cat", results[0].Metadata["kind"]);
    }

    [Fact]
    public async Task SearchAsync_EmptyStore_ReturnsNothing()
    {
        await using var store = EmbeddedVectorStore.Create(2, "m");
        Assert.Empty(await store.SearchAsync(new[] { 1f, 0f }));
        Assert.Empty((await store.SearchBatchAsync([new[] { 1f, 0f }]))[0]);
    }

    [Fact]
    public async Task Cancellation_IsObserved()
    {
        await using var store = EmbeddedVectorStore.Create(2, "m");
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.SearchAsync(new[] { 1f, 0f }, null, cts.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.UpsertAsync([new VectorRecord("a", new[] { 1f, 0f })], cts.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.CountAsync(cts.Token));
    }

    [Fact]
    public async Task DisposeAsync_LaterCallsThrowObjectDisposed()
    {
        var store = EmbeddedVectorStore.Create(2, "m");
        await store.DisposeAsync();
        await store.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.SearchAsync(new[] { 1f, 0f }));
        Assert.Throws<ObjectDisposedException>(() => store.Count);
    }

    [Theory]
    [InlineData(VectorPrecision.Single, 4)]
    [InlineData(VectorPrecision.Half, 2)]
    public async Task VectorMemoryBytes_LargeStore_StaysWithinTenPercentOfRawBytes(VectorPrecision precision, int elementSize)
    {
        const int Dimension = 4096;
        const int Count = 5000;
        await using var store = EmbeddedVectorStore.Create(Dimension, "m", new EmbeddedVectorStoreOptions { Precision = precision });
        var random = new Random(1);
        var v = TestVectors.Random(random, Dimension);
        await store.UpsertAsync(Enumerable.Range(0, Count).Select(i => new VectorRecord($"r{i}", v)));
        var raw = (long)Count * Dimension * elementSize;
        Assert.InRange(store.VectorMemoryBytes, raw, raw * 1.1);
    }
}
