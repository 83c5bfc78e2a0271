namespace ImageSimilarity.Storage;

public sealed class RandomizedSearchTests
{
    public static TheoryData<int, int, VectorPrecision> Cases()
    {
        var data = new TheoryData<int, int, VectorPrecision>();
        foreach (var precision in new[] { VectorPrecision.Single, VectorPrecision.Half })
        {
            // Odd and even dimensions, one row to several blocks, and stores large enough to search in parallel.
            data.Add(1, 7, precision);
            data.Add(3, 50, precision);
            data.Add(7, 333, precision);
            data.Add(16, 1000, precision);
            data.Add(17, 257, precision);
            data.Add(31, 4100, precision);
            data.Add(100, 999, precision);
            data.Add(257, 2500, precision);
            data.Add(1000, 3001, precision);
            data.Add(4097, 600, precision);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task SearchAsync_RandomVectors_MatchesFloat64BruteForce(int dimension, int count, VectorPrecision precision)
    {
        var rows = TestVectors.Random(dimension * 7919 + count, count, dimension);
        var ids = Enumerable.Range(0, count).Select(i => $"r{i}").ToArray();
        await using var store = EmbeddedVectorStore.Create(dimension, "random", new EmbeddedVectorStoreOptions { Precision = precision });
        await store.UpsertAsync(ids.Select((id, i) => new VectorRecord(id, rows[i])));

        var queries = TestVectors.Random(dimension + 1, 5, dimension);
        var tolerance = precision == VectorPrecision.Half ? 3e-3 : 1e-5;
        var top = Math.Min(count, 10);
        var batch = await store.SearchBatchAsync(queries.Select(q => (ReadOnlyMemory<float>)q).ToArray(), new VectorSearchOptions { Top = top });
        for (var q = 0; q < queries.Length; q++)
        {
            var exact = TestVectors.CosineF64(queries[q], rows);
            var results = await store.SearchAsync(queries[q], new VectorSearchOptions { Top = top });
            TestVectors.AssertRanking(results, ids, exact, top, tolerance);
            TestVectors.AssertRanking(batch[q], ids, exact, top, tolerance);
        }
    }

    [Theory]
    [InlineData(VectorPrecision.Single)]
    [InlineData(VectorPrecision.Half)]
    [InlineData(VectorPrecision.Int8)]
    public async Task SearchAsync_ParallelAndSequential_GiveTheSameResults(VectorPrecision precision)
    {
        // 20,000 x 333 is above the size from which a search is split over threads (2^21 multiply-adds).
        const int Dimension = 333;
        var rows = TestVectors.Random(5, 20_000, Dimension);
        var ids = Enumerable.Range(0, rows.Length).Select(i => $"r{i}").ToArray();
        var queries = TestVectors.Random(6, 3, Dimension);
        var runs = new List<IReadOnlyList<VectorSearchResult>[]>();
        foreach (var threads in new[] { 1, 2, 3 })
        {
            await using var store = EmbeddedVectorStore.Create(Dimension, "random", new EmbeddedVectorStoreOptions { Precision = precision, MaxDegreeOfParallelism = threads });
            await store.UpsertAsync(rows.Select((r, i) => new VectorRecord(ids[i], r)));
            var results = new IReadOnlyList<VectorSearchResult>[queries.Length];
            for (var q = 0; q < queries.Length; q++)
            {
                results[q] = await store.SearchAsync(queries[q], new VectorSearchOptions { Top = 25 });
                TestVectors.AssertRanking(results[q], ids, TestVectors.CosineF64(queries[q], rows), 25, precision switch { VectorPrecision.Half => 2e-3, VectorPrecision.Int8 => 1.5e-2, _ => 1e-5 });
            }

            runs.Add(results);
        }

        // Each vector's score is computed by the same kernel whichever thread scans it: the same ids, the same bits.
        for (var run = 1; run < runs.Count; run++)
        {
            for (var q = 0; q < queries.Length; q++)
            {
                Assert.Equal(runs[0][q].Select(r => (r.Id, r.Similarity)), runs[run][q].Select(r => (r.Id, r.Similarity)));
            }
        }
    }

    [Fact]
    public async Task SearchAsync_AfterDeletesAndReinserts_MatchesBruteForceOfLiveRecords()
    {
        const int Dimension = 65;
        var random = new Random(42);
        var live = new Dictionary<string, float[]>();
        await using var store = EmbeddedVectorStore.Create(Dimension, "random");
        for (var step = 0; step < 3000; step++)
        {
            var id = $"k{random.Next(600)}";
            if (random.Next(3) == 0)
            {
                Assert.Equal(live.Remove(id), await store.DeleteAsync(id));
            }
            else
            {
                var v = TestVectors.Random(random, Dimension);
                live[id] = v;
                await store.UpsertAsync(new VectorRecord(id, v));
            }
        }

        Assert.Equal(live.Count, await store.CountAsync());
        var ids = live.Keys.ToArray();
        var rows = ids.Select(k => live[k]).ToArray();
        var query = TestVectors.Random(random, Dimension);
        var results = await store.SearchAsync(query, new VectorSearchOptions { Top = 40 });
        TestVectors.AssertRanking(results, ids, TestVectors.CosineF64(query, rows), 40, 1e-5);
    }
}
