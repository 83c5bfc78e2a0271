using System.Net;
using ImageSimilarity.PgVector;
using ImageSimilarity.Storage;
using Npgsql;

namespace SearchByImage.Web;

/// <summary>
/// The app serving a PostgreSQL + pgvector index (<c>ImageSimilarity:PostgresConnection</c>, <c>ImageSimilarity:PostgresTable</c>)
/// on a real PostgreSQL 17 server started on 127.0.0.1 (<see cref="PostgresServer"/>): the seed index's records copied
/// into a table, then uploads, search by id, thumbnails, status, and images added to the table while the app runs.
/// Skips with the reason outside CI when PostgreSQL is not installed; fails under CI=true.
/// </summary>
[Collection(WebCollection.Name)]
public sealed class PostgresIndexTests(SeedIndex index)
{
    [SkippableFact]
    public async Task PostgresConnection_ServesTheTable_AndSeesNewRecordsWithoutRestart()
    {
        index.Require();
        if (PostgresServer.FindBinaries(out var reason) is null)
        {
            Assert.False(TestPaths.IsCi, "CI=true but " + reason);
            Skip.If(true, reason);
        }

        await using var server = await PostgresServer.StartAsync();
        await using var dataSource = NpgsqlDataSource.Create(server.ConnectionString);
        var records = new List<VectorRecord>();
        await using (var embedded = await EmbeddedVectorStore.OpenAsync(index.IndexPath))
        {
            foreach (var id in embedded.GetIds())
            {
                records.Add((await embedded.GetAsync(id))!);
            }

            // The table holds the vectors of the same model as the seed index; the last 8 images are added later.
            await using var pg = new PgVectorStore(dataSource, embedded.Dimension, embedded.ModelId, new PgVectorStoreOptions { TableName = "seed_images" });
            await pg.UpsertAsync(records.SkipLast(8));
        }

        // The index file setting points nowhere: every answer must come from PostgreSQL.
        await using var factory = new WebAppFactory(index, new Dictionary<string, string?>
        {
            ["ImageSimilarity:IndexPath"] = Path.Combine(index.Scratch, "no-such-index.db"),
            ["ImageSimilarity:PostgresConnection"] = server.ConnectionString,
            ["ImageSimilarity:PostgresTable"] = "seed_images",
        });
        using var client = factory.CreateClient();
        Assert.IsType<PgVectorStore>(factory.Services.GetRequiredService<IVectorStore>());
        Assert.False(File.Exists(Path.Combine(index.Scratch, "no-such-index.db")));

        var status = await (await client.GetAsync("/api/index")).ReadJsonAsync();
        Assert.Equal(records.Count - 8, status.GetProperty("count").GetInt64());
        Assert.Equal("PostgreSQL table seed_images", status.GetProperty("indexFile").GetString());
        Assert.Equal("Single", status.GetProperty("storePrecision").GetString());
        using (var health = await client.GetAsync("/health"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        // Upload: the query image comes first, found in the table by the model the app loaded.
        var dog = Path.Combine(index.ImagesFolder, "Dog1.jpeg");
        using (var upload = await client.PostAsync("/api/search", Http.Upload(await File.ReadAllBytesAsync(dog), "query.jpeg")))
        {
            Assert.Equal(HttpStatusCode.OK, upload.StatusCode);
            var results = (await upload.ReadJsonAsync()).GetProperty("results").EnumerateArray().ToList();
            Assert.Equal(9, results.Count);
            Assert.Equal("Dog1.jpeg", results[0].GetProperty("id").GetString());
            Assert.True(results[0].GetProperty("similarity").GetSingle() > 0.999f);
        }

        // By id, and the thumbnail of a record of the table (looked up by id, served from the recorded path).
        using (var byId = await client.GetAsync("/api/search?id=Dog1.jpeg&top=5"))
        {
            var results = (await byId.ReadJsonAsync()).GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToList();
            Assert.Equal(5, results.Count);
            Assert.DoesNotContain("Dog1.jpeg", results);
        }

        using (var thumbnail = await client.GetAsync("/api/images/Dog1.jpeg/thumbnail"))
        {
            Assert.Equal(HttpStatusCode.OK, thumbnail.StatusCode);
            Assert.Equal("image/jpeg", thumbnail.Content.Headers.ContentType?.MediaType);
        }

        using (var missing = await client.GetAsync("/api/search?id=" + Uri.EscapeDataString(records[^1].Id)))
        {
            await missing.AssertProblemAsync(404, "not-found");
        }

        // Another writer adds the last 8 images: the app sees them at once.
        await using (var writer = await PgVectorStore.OpenExistingAsync(dataSource, new PgVectorStoreOptions { TableName = "seed_images" }))
        {
            await writer.UpsertAsync(records.TakeLast(8));
        }

        Assert.Equal(records.Count, (await (await client.GetAsync("/api/index")).ReadJsonAsync()).GetProperty("count").GetInt64());
        using (var added = await client.GetAsync("/api/search?id=" + Uri.EscapeDataString(records[^1].Id)))
        {
            Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        }
    }

    [SkippableFact]
    public async Task PostgresConnection_TableOfAnotherModel_StopsTheStartWithTheStoresMessage()
    {
        index.Require();
        if (PostgresServer.FindBinaries(out var reason) is null)
        {
            Assert.False(TestPaths.IsCi, "CI=true but " + reason);
            Skip.If(true, reason);
        }

        await using var server = await PostgresServer.StartAsync();
        await using var dataSource = NpgsqlDataSource.Create(server.ConnectionString);
        await using (var other = new PgVectorStore(dataSource, 4096, "vgg16-fc2/someone-elses-weights/torchvision", new PgVectorStoreOptions { TableName = "other_model" }))
        {
            await other.UpsertAsync([new VectorRecord("x.jpg", Enumerable.Repeat(1f, 4096).ToArray())]);
        }

        await using var factory = new WebAppFactory(index, new Dictionary<string, string?>
        {
            ["ImageSimilarity:PostgresConnection"] = server.ConnectionString,
            ["ImageSimilarity:PostgresTable"] = "other_model",
        });
        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        Assert.Contains("someone-elses-weights", error.ToString(), StringComparison.Ordinal);
    }
}
