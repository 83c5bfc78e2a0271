using ImageSimilarity.Extraction;
using ImageSimilarity.PgVector;
using ImageSimilarity.Storage;
using ImageSimilarity.TestSupport;
using Npgsql;

namespace ImageSimilarity.Duplicates;

/// <summary>
/// <see cref="DuplicateFinder"/> on a real PostgreSQL 17 + pgvector server (<see cref="PostgresServer"/>, started on
/// 127.0.0.1): the same groups as on the embedded store with the same records. Skips with the reason outside CI when
/// PostgreSQL is not installed; fails under CI=true.
/// </summary>
[Collection(TorchCollection.Name)] // sequential: the CLI part redirects Console
public sealed class DuplicateFinderPgVectorTests
{
    [SkippableFact]
    public async Task FindAsync_PgVectorStore_SameGroupsAsTheEmbeddedStore()
    {
        if (PostgresServer.FindBinaries(out var reason) is null)
        {
            Assert.False(TestPaths.IsCi, "CI=true but " + reason);
            Skip.If(true, reason);
        }

        await using var server = await PostgresServer.StartAsync();
        await using var dataSource = NpgsqlDataSource.Create(server.ConnectionString);

        // 30 images in 6 clusters of 5 (each cluster a 16-d base vector plus small noise; cluster 5 is cluster 4 shifted
        // a little), found by the model's default threshold (ResNet18's, from the model id).
        var random = new Random(13);
        var bases = Enumerable.Range(0, 6).Select(_ => Enumerable.Range(0, 16).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
        bases[5] = bases[4].Select(v => v + (float)(random.NextDouble() * 0.15)).ToArray();
        var records = new List<VectorRecord>();
        for (var c = 0; c < bases.Length; c++)
        {
            for (var k = 0; k < 5; k++)
            {
                var vector = bases[c].Select(v => v + (float)((random.NextDouble() - 0.5) * 0.08)).ToArray();
                records.Add(new VectorRecord($"c{c}-{k}", vector, new Dictionary<string, string> { [RecordMetadata.Sha256] = $"{c}{k}" }));
            }
        }

        await using var embedded = EmbeddedVectorStore.Create(16, "resnet18/onnx-test/x");
        await embedded.UpsertAsync(records);
        await using var pg = new PgVectorStore(dataSource, 16, "resnet18/onnx-test/x", new PgVectorStoreOptions { TableName = "dupes" });
        await pg.UpsertAsync(records);
        var progress = new List<DuplicateProgress>();

        var options = new DuplicateFinderOptions { BatchSize = 8 };
        var expected = await DuplicateFinder.FindAsync(embedded, options);
        var actual = await DuplicateFinder.FindAsync(pg, options, new Progress(progress.Add));

        Assert.True(expected.Count >= 5, $"{expected.Count} groups");
        Assert.Equal(Describe(expected), Describe(actual));
        Assert.Equal([8L, 16, 24, 30], progress.Select(p => p.Searched));
        Assert.All(actual, g => Assert.All(g.Members, m => Assert.True(m.Similarity >= DuplicateFinderOptions.DefaultResNet18Threshold, $"{m.Id} {m.Similarity}")));

        // The command on the same table: the same groups, keepers first.
        var (code, json) = await Cli.RunJsonAsync("duplicates", "--store", "postgres", "--connection", server.ConnectionString, "--table", "dupes", "--json");
        Assert.Equal(0, code);
        Assert.Equal(DuplicateFinderOptions.DefaultResNet18Threshold, json.GetProperty("threshold").GetSingle());
        Assert.Equal(
            actual.Select(g => string.Join(",", g.Members.Select(m => m.Id))),
            json.GetProperty("groups").EnumerateArray().Select(g => string.Join(",", g.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("id").GetString()))));
    }

    private static string[] Describe(IReadOnlyList<DuplicateGroup> groups)
        => groups.Select(g => string.Join(",", g.Members.Select(m => $"{m.Id}:{m.Similarity:F4}"))).ToArray();

    private sealed class Progress(Action<DuplicateProgress> report) : IProgress<DuplicateProgress>
    {
        public void Report(DuplicateProgress value) => report(value);
    }
}
