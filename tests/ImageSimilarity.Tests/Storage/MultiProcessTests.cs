using System.Globalization;
using ImageSimilarity.TestSupport;
using Xunit.Abstractions;

namespace ImageSimilarity.Storage;

/// <summary>Several real processes on one index file: writers side by side, a reader that follows a writer, kill -9.</summary>
[Collection(MultiProcessCollection.Name)]
public sealed class MultiProcessTests(ITestOutputHelper output)
{
    private const int Dimension = 64;

    [Fact]
    public async Task TwoWriterProcesses_UpsertingDisjointRecords_LoseNothing()
    {
        using var dir = TestPaths.CreateTempDirectory("imgsim-mp");
        var path = dir.Combine("shared.db");
        const int Batches = 15;
        const int BatchSize = 20;
        using var a = WriterProcess.Start(path, Dimension, "a", Batches, BatchSize);
        using var b = WriterProcess.Start(path, Dimension, "b", Batches, BatchSize);
        Assert.True(await a.WaitAsync(TimeSpan.FromMinutes(2)) == 0, a.Errors);
        Assert.True(await b.WaitAsync(TimeSpan.FromMinutes(2)) == 0, b.Errors);
        Assert.Equal(Batches, a.Committed.Length);
        Assert.Equal(Batches, b.Committed.Length);

        await using var store = await EmbeddedVectorStore.OpenAsync(path);
        Assert.Equal(2 * Batches * BatchSize, store.Count);
        foreach (var prefix in new[] { "a", "b" })
        {
            for (var batch = 0; batch < Batches; batch++)
            {
                for (var i = 0; i < BatchSize; i++)
                {
                    await AssertStoredAsync(store, $"{prefix}-{batch}-{i}");
                }
            }
        }
    }

    [Fact]
    public async Task ReaderInAnotherProcess_SeesTheWritersRecords_WithoutReopening()
    {
        using var dir = TestPaths.CreateTempDirectory("imgsim-mp");
        var path = dir.Combine("followed.db");
        await using var reader = await EmbeddedVectorStore.OpenOrCreateAsync(path, Dimension, WriterVectors.ModelId);
        Assert.Equal(0, await reader.CountAsync());
        var probe = WriterVectors.For("w-4-7", Dimension);
        Assert.Empty(await reader.SearchAsync(probe));

        using var writer = WriterProcess.Start(path, Dimension, "w", 5, 10);
        Assert.True(await writer.WaitAsync(TimeSpan.FromMinutes(2)) == 0, writer.Errors);

        // The writer has ended: every batch is committed. The reader picks them up before its next search.
        var hits = await reader.SearchAsync(probe, new VectorSearchOptions { Top = 3 });
        Assert.Equal("w-4-7", hits[0].Id);
        Assert.True(hits[0].Similarity > 0.9999f);
        Assert.Equal(50, await reader.CountAsync());
        Assert.Equal("4", (await reader.GetAsync("w-4-7"))!.Metadata["batch"]);

        // And it keeps following: a second writer run adds more, the same open store sees them too.
        using var more = WriterProcess.Start(path, Dimension, "x", 2, 10);
        Assert.True(await more.WaitAsync(TimeSpan.FromMinutes(2)) == 0, more.Errors);
        Assert.Equal(70, await reader.CountAsync());
        Assert.Equal("x-1-9", (await reader.SearchAsync(WriterVectors.For("x-1-9", Dimension)))[0].Id);
    }

    [Fact]
    public async Task WriterKilledWithSigkill_20Rounds_EveryCommittedBatchSurvives()
    {
        using var dir = TestPaths.CreateTempDirectory("imgsim-kill");
        var path = dir.Combine("killed.db");
        const int BatchSize = 25;
        var random = new Random(20251126);
        var expected = new Dictionary<string, int>(StringComparer.Ordinal);
        var midWrite = 0;
        for (var round = 0; round < 20; round++)
        {
            var prefix = $"k{round}";
            using (var writer = WriterProcess.Start(path, Dimension, prefix, 0, BatchSize))
            {
                // Let it commit at least once on odd rounds; on even rounds kill it at any moment, even before it opened the index.
                if (round % 2 == 1)
                {
                    await Task.WhenAny(writer.FirstCommit, Task.Delay(TimeSpan.FromSeconds(60)));
                }

                await Task.Delay(random.Next(0, 250));
                await writer.KillAsync();
                expected[prefix] = writer.Committed.Length == 0 ? -1 : writer.Committed.Max();
                Assert.True(round % 2 == 0 || expected[prefix] >= 0, $"round {round}: the writer never committed. {writer.Errors}");
            }

            if (!File.Exists(path))
            {
                continue;
            }

            await using var store = await EmbeddedVectorStore.OpenAsync(path);
            var ids = store.GetIds().ToHashSet(StringComparer.Ordinal);
            foreach (var (p, lastCommitted) in expected)
            {
                // Every batch reported committed is there, and every batch that is there is whole (one transaction).
                var batches = ids.Where(id => id.StartsWith(p + "-", StringComparison.Ordinal))
                    .GroupBy(id => int.Parse(id.Split('-')[1], CultureInfo.InvariantCulture))
                    .ToDictionary(g => g.Key, g => g.Count());
                for (var batch = 0; batch <= lastCommitted; batch++)
                {
                    Assert.True(batches.TryGetValue(batch, out var n) && n == BatchSize, $"round {round}: batch {batch} of {p} was committed but is missing or partial");
                }

                Assert.All(batches, kv => Assert.Equal(BatchSize, kv.Value));
                if (p == prefix && batches.Count > lastCommitted + 1)
                {
                    midWrite++;
                }
            }

            foreach (var id in ids.Where(id => id.StartsWith(prefix + "-", StringComparison.Ordinal)).Take(3))
            {
                await AssertStoredAsync(store, id);
            }
        }

        output.WriteLine($"20 kills; committed batches per round: {string.Join(", ", expected.Values)}; {midWrite} rounds were killed after a commit it had not yet reported.");
        Assert.True(expected.Values.Count(v => v >= 0) >= 10);
    }

    private static async Task AssertStoredAsync(EmbeddedVectorStore store, string id)
    {
        var record = await store.GetAsync(id);
        Assert.True(record is not null, $"'{id}' is missing");
        var expected = WriterVectors.For(id, Dimension);
        var norm = MathF.Sqrt(expected.Sum(x => x * x));
        var span = record.Vector.Span;
        for (var d = 0; d < Dimension; d++)
        {
            Assert.True(Math.Abs((expected[d] / norm) - span[d]) < 1e-5f, $"'{id}' holds another vector at {d}");
        }
    }
}

/// <summary>The multi-process tests start child processes; running them one at a time keeps them from starving each other on 2 cores.</summary>
[CollectionDefinition(Name)]
public sealed class MultiProcessCollection
{
    public const string Name = "multi-process";
}
