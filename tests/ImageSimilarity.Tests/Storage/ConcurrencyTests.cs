namespace ImageSimilarity.Storage;

public sealed class ConcurrencyTests
{
    [Theory]
    [InlineData(VectorPrecision.Single)]
    [InlineData(VectorPrecision.Half)]
    public async Task ConcurrentUpsertsDeletesAndSearches_LoseNothingAndSeeConsistentRecords(VectorPrecision precision)
    {
        const int Dimension = 96;
        const int Writers = 4;
        const int PerWriter = 1500;
        await using var store = EmbeddedVectorStore.Create(Dimension, "m", new EmbeddedVectorStoreOptions { Precision = precision });

        // Each record's vector is a function of its id, so any torn or misplaced row is detectable.
        static float[] VectorOf(int writer, int i)
        {
            var v = new float[Dimension];
            v[writer] = 1f;
            v[8 + (i % (Dimension - 8))] = 2f;
            return v;
        }

        using var stop = new CancellationTokenSource();
        var searchErrors = 0;
        var searches = 0;
        var readers = Enumerable.Range(0, 3).Select(r => Task.Run(async () =>
        {
            var random = new Random(r);

            // At least a few searches each, even when the writers finish first on a busy machine.
            for (var mine = 0; !stop.IsCancellationRequested || mine < 20; mine++)
            {
                var writer = random.Next(Writers);
                var i = random.Next(PerWriter);
                var results = await store.SearchAsync(VectorOf(writer, i), new VectorSearchOptions { Top = 5 });
                Interlocked.Increment(ref searches);
                foreach (var result in results)
                {
                    var parts = result.Id.Split('-');
                    var expected = VectorOf(int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
                    var exact = TestVectors.CosineF64(VectorOf(writer, i), [expected])[0];
                    if (Math.Abs(exact - result.Similarity) > 3e-3 || result.Metadata["writer"] != parts[0])
                    {
                        Interlocked.Increment(ref searchErrors);
                    }
                }
            }
        })).ToArray();

        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            var metadata = new Dictionary<string, string> { ["writer"] = w.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            for (var i = 0; i < PerWriter; i++)
            {
                await store.UpsertAsync(new VectorRecord($"{w}-{i}", VectorOf(w, i), metadata));
                if (i % 3 == 0)
                {
                    // Delete an earlier record and check it is gone; every third record ends up deleted.
                    Assert.True(await store.DeleteAsync($"{w}-{i}"));
                }

                if (i % 100 == 0)
                {
                    // Batched upserts race with single ones too.
                    await store.UpsertAsync(Enumerable.Range(0, 10).Select(k => new VectorRecord($"{w}-{k}-batch{i}", VectorOf(w, k), metadata)));
                }
            }
        })).ToArray();

        await Task.WhenAll(writers);
        await stop.CancelAsync();
        await Task.WhenAll(readers);

        Assert.Equal(0, searchErrors);
        Assert.True(searches > 0);
        var expectedCount = Writers * ((PerWriter - ((PerWriter + 2) / 3)) + (((PerWriter + 99) / 100) * 10));
        Assert.Equal(expectedCount, await store.CountAsync());
        for (var w = 0; w < Writers; w++)
        {
            for (var i = 0; i < PerWriter; i++)
            {
                var record = await store.GetAsync($"{w}-{i}");
                if (i % 3 == 0)
                {
                    Assert.Null(record);
                    continue;
                }

                Assert.NotNull(record);
                var expected = VectorOf(w, i);
                var norm = MathF.Sqrt(5f);
                for (var d = 0; d < Dimension; d++)
                {
                    Assert.Equal(expected[d] / norm, record.Vector.Span[d], 2e-3f);
                }
            }
        }
    }
}
