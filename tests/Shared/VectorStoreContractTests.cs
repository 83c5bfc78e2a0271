namespace ImageSimilarity.Storage;

/// <summary>
/// The behaviour every <see cref="IVectorStore"/> must have, run against each implementation (the embedded store in
/// ImageSimilarity.Tests, PostgreSQL in ImageSimilarity.PgVector.Tests). This file is linked into both test projects.
/// </summary>
public abstract class VectorStoreContractTests
{
    /// <summary>Opens the store called <paramref name="name"/> (creating it when new); the same name opens the same data again.</summary>
    protected abstract Task<IVectorStore> OpenAsync(string name, int dimension, string modelId);

    /// <summary>How far a similarity may differ from the float64 reference (storage precision, summation order).</summary>
    protected virtual double Tolerance => 1e-5;

    protected static async Task CloseAsync(IVectorStore store)
    {
        if (store is IPersistentVectorStore persistent)
        {
            await persistent.SaveChangesAsync();
        }

        await store.DisposeAsync();
    }

    protected static float[] RandomVector(Random random, int dimension, bool nonNegative = false)
    {
        var v = new float[dimension];
        for (var i = 0; i < v.Length; i++)
        {
            v[i] = nonNegative ? (float)random.NextDouble() : (float)(random.NextDouble() * 2 - 1);
        }

        return v;
    }

    protected static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }

        return dot / Math.Sqrt(na * nb);
    }

    [SkippableFact]
    public async Task Get_ReturnsUnitVectorAndMetadata_MissingIsNull()
    {
        await using var store = await OpenAsync("get", 2, "m");
        await store.UpsertAsync([new VectorRecord("a", new[] { 3f, 4f }, new Dictionary<string, string> { ["kind"] = "cat", ["path"] = "/x/ä ö.jpg" })]);
        var a = await store.GetAsync("a");
        Assert.NotNull(a);
        Assert.Equal(0.6f, a.Vector.Span[0], 1e-6f);
        Assert.Equal(0.8f, a.Vector.Span[1], 1e-6f);
        Assert.Equal("cat", a.Metadata["kind"]);
        Assert.Equal("/x/ä ö.jpg", a.Metadata["path"]);
        Assert.Null(await store.GetAsync("missing"));
        Assert.Equal(2, store.Dimension);
        Assert.Equal("m", store.ModelId);
    }

    [SkippableFact]
    public async Task Upsert_SameId_ReplacesVectorAndMetadata_LastOfOneCallWins()
    {
        await using var store = await OpenAsync("replace", 2, "m");
        await store.UpsertAsync([new VectorRecord("a", new[] { 1f, 0f }, new Dictionary<string, string> { ["k"] = "v" })]);
        await store.UpsertAsync([new VectorRecord("a", new[] { 0f, 2f })]);
        var a = await store.GetAsync("a");
        Assert.Equal(new[] { 0f, 1f }, a!.Vector.ToArray());
        Assert.Empty(a.Metadata);
        Assert.Equal(1, await store.CountAsync());

        await store.UpsertAsync([new VectorRecord("b", new[] { 1f, 0f }), new VectorRecord("b", new[] { 1f, 1f }, new Dictionary<string, string> { ["n"] = "2" })]);
        var b = await store.GetAsync("b");
        Assert.Equal(MathF.Sqrt(0.5f), b!.Vector.Span[0], 1e-6f);
        Assert.Equal("2", b.Metadata["n"]);
        Assert.Equal(2, await store.CountAsync());
    }

    [SkippableFact]
    public async Task Delete_RemovesTheRecordAndSaysWhetherItExisted()
    {
        await using var store = await OpenAsync("delete", 3, "m");
        await store.UpsertAsync([new VectorRecord("a", new[] { 1f, 0, 0 }), new VectorRecord("b", new[] { 0f, 1, 0 })]);
        Assert.True(await store.DeleteAsync("a"));
        Assert.False(await store.DeleteAsync("a"));
        Assert.Null(await store.GetAsync("a"));
        Assert.Equal(1, await store.CountAsync());
        var results = await store.SearchAsync(new[] { 1f, 0, 0 });
        Assert.Equal(["b"], results.Select(r => r.Id));
    }

    [SkippableFact]
    public async Task List_ReturnsEveryIdAndMetadataWithoutVectors()
    {
        await using var store = await OpenAsync("list", 4, "m");
        var random = new Random(1);
        await store.UpsertAsync(Enumerable.Range(0, 300).Select(i => new VectorRecord($"id{i}", RandomVector(random, 4), new Dictionary<string, string> { ["i"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) })));
        var listed = new List<VectorRecord>();
        await foreach (var record in store.ListAsync())
        {
            listed.Add(record);
        }

        Assert.Equal(300, listed.Count);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"id{i}").Order(StringComparer.Ordinal), listed.Select(r => r.Id).Order(StringComparer.Ordinal));
        Assert.All(listed, r => Assert.Equal(r.Id, "id" + r.Metadata["i"]));
        Assert.All(listed, r => Assert.True(r.Vector.IsEmpty));
    }

    [SkippableFact]
    public async Task Search_OrderAndScores_AreExactCosineSimilarities()
    {
        const int Dimension = 64;
        await using var store = await OpenAsync("search", Dimension, "m");
        var random = new Random(7);
        var vectors = Enumerable.Range(0, 500).Select(_ => RandomVector(random, Dimension)).ToArray();
        await store.UpsertAsync(vectors.Select((v, i) => new VectorRecord($"r{i}", v)));
        for (var q = 0; q < 5; q++)
        {
            var query = RandomVector(random, Dimension);
            var expected = vectors.Select((v, i) => (Id: $"r{i}", Score: Cosine(query, v))).OrderByDescending(x => x.Score).Take(10).ToArray();
            var results = await store.SearchAsync(query, new VectorSearchOptions { Top = 10 });
            Assert.Equal(10, results.Count);
            for (var i = 0; i < 10; i++)
            {
                Assert.Equal(expected[i].Score, results[i].Similarity, Tolerance);
            }

            // Ids agree except where two true scores are closer than the tolerance.
            var expectedIds = expected.Where((x, i) => (i == 0 || expected[i - 1].Score - x.Score > 2 * Tolerance) && (i == 9 || x.Score - expected[i + 1].Score > 2 * Tolerance)).Select(x => x.Id);
            Assert.Subset(results.Select(r => r.Id).ToHashSet(), expectedIds.ToHashSet());
        }

        var self = await store.SearchAsync(vectors[42], new VectorSearchOptions { Top = 1 });
        Assert.Equal("r42", self[0].Id);
        Assert.Equal(1.0, self[0].Similarity, Tolerance);
    }

    [SkippableFact]
    public async Task Search_TopMinimumSimilarityMetadataFilterAndExcludedIds_AreHonoured()
    {
        await using var store = await OpenAsync("filters", 2, "m");
        var cat = new Dictionary<string, string> { ["kind"] = "cat", ["size"] = "big" };
        var dog = new Dictionary<string, string> { ["kind"] = "dog" };

        // Angles 0..80 degrees from the x axis, every 10: similarity to (1,0) is cos(angle).
        var records = Enumerable.Range(0, 9).Select(i =>
        {
            var angle = i * 10 * Math.PI / 180;
            return new VectorRecord($"a{i * 10}", new[] { (float)Math.Cos(angle), (float)Math.Sin(angle) }, i % 2 == 0 ? cat : dog);
        });
        await store.UpsertAsync(records);
        var x = new[] { 1f, 0f };

        Assert.Equal(["a0", "a10", "a20"], (await store.SearchAsync(x, new VectorSearchOptions { Top = 3 })).Select(r => r.Id));
        var min = await store.SearchAsync(x, new VectorSearchOptions { Top = 100, MinSimilarity = (float)Math.Cos(45 * Math.PI / 180) });
        Assert.Equal(["a0", "a10", "a20", "a30", "a40"], min.Select(r => r.Id));
        var cats = await store.SearchAsync(x, new VectorSearchOptions { Top = 100, MetadataEquals = new Dictionary<string, string> { ["kind"] = "cat" } });
        Assert.Equal(["a0", "a20", "a40", "a60", "a80"], cats.Select(r => r.Id));
        Assert.All(cats, r => Assert.Equal("big", r.Metadata["size"]));
        var bigDogs = await store.SearchAsync(x, new VectorSearchOptions { MetadataEquals = new Dictionary<string, string> { ["kind"] = "dog", ["size"] = "big" } });
        Assert.Empty(bigDogs);
        var excluded = await store.SearchAsync(x, new VectorSearchOptions { Top = 2, ExcludeIds = new HashSet<string> { "a0", "a20" } });
        Assert.Equal(["a10", "a30"], excluded.Select(r => r.Id));
        Assert.Equal(Math.Cos(10 * Math.PI / 180), excluded[0].Similarity, Tolerance);
        var opposite = await store.SearchAsync(new[] { -1f, 0f }, new VectorSearchOptions { Top = 1 });
        Assert.Equal("a80", opposite[0].Id);
        Assert.True(opposite[0].Similarity < 0);
    }

    [SkippableFact]
    public async Task InvalidVectors_AreRefusedWithTheId_AndNothingIsStored()
    {
        await using var store = await OpenAsync("invalid", 3, "m");
        var wrongLength = await Assert.ThrowsAsync<ArgumentException>(() => store.UpsertAsync([new VectorRecord("good", new[] { 1f, 0, 0 }), new VectorRecord("short", new[] { 1f, 2 })]));
        Assert.Equal("records", wrongLength.ParamName);
        Assert.Contains("'short'", wrongLength.Message, StringComparison.Ordinal);
        var nan = await Assert.ThrowsAsync<ArgumentException>(() => store.UpsertAsync([new VectorRecord("nan", new[] { 1f, float.NaN, 0 })]));
        Assert.Contains("NaN", nan.Message, StringComparison.Ordinal);
        var zero = await Assert.ThrowsAsync<ArgumentException>(() => store.UpsertAsync([new VectorRecord("zero", new float[3])]));
        Assert.Contains("zero", zero.Message, StringComparison.Ordinal);
        Assert.Equal("query", (await Assert.ThrowsAsync<ArgumentException>(() => store.SearchAsync(new float[3]))).ParamName);
        Assert.Equal("query", (await Assert.ThrowsAsync<ArgumentException>(() => store.SearchAsync(new float[4]))).ParamName);
        await Assert.ThrowsAsync<ArgumentNullException>(() => store.UpsertAsync(null!));
        await Assert.ThrowsAsync<ArgumentNullException>(() => store.GetAsync(null!));
        Assert.Null(await store.GetAsync("nan"));
        Assert.Null(await store.GetAsync("zero"));
    }

    [SkippableFact]
    public async Task Reopen_WithAnotherDimensionOrModel_IsRefused_AndTheDataIsKept()
    {
        var store = await OpenAsync("mismatch", 3, "model-a");
        await store.UpsertAsync([new VectorRecord("a", new[] { 1f, 2, 3 })]);
        await CloseAsync(store);

        var dimension = await Assert.ThrowsAsync<ModelMismatchException>(async () =>
        {
            await using var other = await OpenAsync("mismatch", 4, "model-a");
            await other.CountAsync();
        });
        Assert.Contains("model-a", dimension.Message, StringComparison.Ordinal);
        Assert.Contains("3", dimension.Message, StringComparison.Ordinal);
        var model = await Assert.ThrowsAsync<ModelMismatchException>(async () =>
        {
            await using var other = await OpenAsync("mismatch", 3, "model-b");
            await other.CountAsync();
        });
        Assert.Contains("model-b", model.Message, StringComparison.Ordinal);

        await using var again = await OpenAsync("mismatch", 3, "model-a");
        Assert.Equal(1, await again.CountAsync());
        Assert.NotNull(await again.GetAsync("a"));
    }

    [SkippableFact]
    public async Task ConcurrentUpsertsFromSeveralTasks_LoseNothing()
    {
        const int Tasks = 4;
        const int PerTask = 250;
        await using var store = await OpenAsync("concurrent", 8, "m");
        await Task.WhenAll(Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            for (var start = 0; start < PerTask; start += 25)
            {
                await store.UpsertAsync(Enumerable.Range(start, 25).Select(i =>
                {
                    var v = new float[8];
                    v[t] = 1;
                    v[4 + (i % 4)] = 1 + (i / 4);
                    return new VectorRecord($"{t}-{i}", v, new Dictionary<string, string> { ["task"] = t.ToString(System.Globalization.CultureInfo.InvariantCulture) });
                }));
            }
        })));

        Assert.Equal(Tasks * PerTask, await store.CountAsync());
        for (var t = 0; t < Tasks; t++)
        {
            var record = await store.GetAsync($"{t}-{PerTask - 1}");
            Assert.NotNull(record);
            Assert.Equal(t.ToString(System.Globalization.CultureInfo.InvariantCulture), record.Metadata["task"]);
        }
    }

    [SkippableFact]
    public async Task EmptyStore_SearchesToNothing_AndCancelledCallsThrow()
    {
        await using var store = await OpenAsync("empty", 3, "m");
        Assert.Empty(await store.SearchAsync(new[] { 1f, 0, 0 }));
        Assert.Equal(0, await store.CountAsync());
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.CountAsync(cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.SearchAsync(new[] { 1f, 0, 0 }, null, cancelled.Token));
    }
}
