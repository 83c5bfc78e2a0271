using ImageSimilarity.Extraction;
using ImageSimilarity.PgVector.TestSupport;
using ImageSimilarity.Storage;
using ImageSimilarity.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace ImageSimilarity.PgVector.Storage;

[Collection(PostgresCollection.Name)]
public sealed class PgVectorStoreTests(PostgresFixture postgres)
{
    [Fact]
    public void Options_InvalidValues_ThrowWithParameterName()
    {
        Assert.Equal("value", Assert.Throws<ArgumentException>(() => new PgVectorStoreOptions { TableName = "Images; DROP TABLE x" }).ParamName);
        Assert.Throws<ArgumentException>(() => new PgVectorStoreOptions { TableName = "1abc" });
        Assert.Throws<ArgumentException>(() => new PgVectorStoreOptions { TableName = new string('a', 49) });
        Assert.Throws<ArgumentOutOfRangeException>(() => new PgVectorStoreOptions { CommandTimeout = TimeSpan.Zero });
        Assert.Throws<ArgumentOutOfRangeException>(() => new PgVectorSearchOptions { Candidates = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new ApproximateIndexOptions { M = 1 });
        using var dataSource = NpgsqlDataSource.Create("Host=127.0.0.1");
        Assert.Equal("dimension", Assert.Throws<ArgumentOutOfRangeException>(() => new PgVectorStore(dataSource, 0, "m")).ParamName);
        Assert.Equal("modelId", Assert.Throws<ArgumentException>(() => new PgVectorStore(dataSource, 3, " ")).ParamName);
        Assert.Equal("dataSource", Assert.Throws<ArgumentNullException>(() => new PgVectorStore(null!, 3, "m")).ParamName);
    }

    [SkippableFact]
    public async Task Initialize_CreatesTableAndRegistration_ReadInfoDescribesIt()
    {
        var dataSource = postgres.Require();
        var table = PostgresFixture.NewTable();
        Assert.Null(await PgVectorStore.ReadInfoAsync(dataSource, table));
        await using var store = new PgVectorStore(dataSource, 5, "model-x", new PgVectorStoreOptions { TableName = table, Precision = VectorPrecision.Half });
        await store.InitializeAsync();
        await store.SetPropertiesAsync(new Dictionary<string, string> { ["preset"] = "keras-caffe" });
        await store.SetPropertiesAsync(new Dictionary<string, string> { ["weights"] = "/w.pth" });
        var info = await PgVectorStore.ReadInfoAsync(dataSource, table);
        Assert.NotNull(info);
        Assert.Equal((5, "model-x", VectorPrecision.Half, false), (info.Dimension, info.ModelId, info.Precision, info.HasApproximateIndex));
        Assert.Equal("keras-caffe", info.Properties["preset"]);
        Assert.Equal("/w.pth", info.Properties["weights"]);

        await using var command = dataSource.CreateCommand($"SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '{table}'::regclass AND attname = 'embedding'");
        Assert.Equal("halfvec(5)", await command.ExecuteScalarAsync());

        await using var opened = await PgVectorStore.OpenExistingAsync(dataSource, new PgVectorStoreOptions { TableName = table });
        Assert.Equal((5, "model-x", VectorPrecision.Half), (opened.Dimension, opened.ModelId, opened.Precision));
        var missing = await Assert.ThrowsAsync<PgVectorStoreException>(() => PgVectorStore.OpenExistingAsync(dataSource, new PgVectorStoreOptions { TableName = "no_such_table" }));
        Assert.Contains("no_such_table", missing.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Open_WithAnotherPrecision_OrOnAForeignTable_IsRefusedClearly()
    {
        var dataSource = postgres.Require();
        var table = PostgresFixture.NewTable();
        await using (var single = new PgVectorStore(dataSource, 3, "m", new PgVectorStoreOptions { TableName = table }))
        {
            await single.UpsertAsync([new VectorRecord("a", new[] { 1f, 0, 0 })]);
        }

        await using var half = new PgVectorStore(dataSource, 3, "m", new PgVectorStoreOptions { TableName = table, Precision = VectorPrecision.Half });
        var mismatch = await Assert.ThrowsAsync<ModelMismatchException>(() => half.CountAsync());
        Assert.Contains("single precision", mismatch.Message, StringComparison.Ordinal);
        Assert.Contains(table, mismatch.Message, StringComparison.Ordinal);

        var foreign = PostgresFixture.NewTable("foreign");
        await using (var create = dataSource.CreateCommand($"CREATE TABLE {foreign} (id integer, name text)"))
        {
            await create.ExecuteNonQueryAsync();
        }

        await using var store = new PgVectorStore(dataSource, 3, "m", new PgVectorStoreOptions { TableName = foreign });
        var error = await Assert.ThrowsAsync<PgVectorStoreException>(() => store.CountAsync());
        Assert.Contains("not made by ImageSimilarity", error.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task UnreachableServer_GivesAClearErrorNamingHostAndPort()
    {
        postgres.Require();
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await using var dataSource = NpgsqlDataSource.Create($"Host=127.0.0.1;Port={port};Username=imgsim;Timeout=3");
        await using var store = new PgVectorStore(dataSource, 3, "m");
        var error = await Assert.ThrowsAsync<PgVectorStoreException>(() => store.CountAsync());
        Assert.Contains($"127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
        Assert.Contains("not reachable", error.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task CommandTimeout_AndCancellation_AreHonouredWhileTheTableIsLocked()
    {
        var dataSource = postgres.Require();
        var table = PostgresFixture.NewTable();
        await using var store = new PgVectorStore(dataSource, 3, "m", new PgVectorStoreOptions { TableName = table, CommandTimeout = TimeSpan.FromSeconds(1) });
        await store.UpsertAsync([new VectorRecord("a", new[] { 1f, 0, 0 })]);

        await using var locker = await dataSource.OpenConnectionAsync();
        await using var transaction = await locker.BeginTransactionAsync();
        await using (var lockCommand = new NpgsqlCommand($"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE", locker, transaction))
        {
            await lockCommand.ExecuteNonQueryAsync();
        }

        var timeout = await Assert.ThrowsAsync<PgVectorStoreException>(() => store.SearchAsync(new[] { 1f, 0, 0 }));
        Assert.Contains("timeout", timeout.Message, StringComparison.OrdinalIgnoreCase);

        await using var patient = new PgVectorStore(dataSource, 3, "m", new PgVectorStoreOptions { TableName = table, CommandTimeout = TimeSpan.FromMinutes(1) });
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => patient.CountAsync(cancel.Token));
        await transaction.RollbackAsync();
        Assert.Equal(1, await patient.CountAsync());
    }

    [SkippableFact]
    public async Task ApproximateSearch_FindsWhatExactSearchFinds_WithExactScores_ForBothCodeKinds()
    {
        var dataSource = postgres.Require();
        const int Dimension = 256;
        var random = new Random(3);

        // Clustered non-negative vectors (like ReLU features): 40 centres, 60 noisy members each.
        var centres = Enumerable.Range(0, 40).Select(_ => Sparse(random, Dimension)).ToArray();
        var vectors = new List<float[]>();
        foreach (var centre in centres)
        {
            for (var i = 0; i < 60; i++)
            {
                vectors.Add(centre.Select(x => Math.Max(0f, x + (float)((random.NextDouble() - 0.5) * 0.6))).ToArray());
            }
        }

        await using var store = new PgVectorStore(dataSource, Dimension, "m", new PgVectorStoreOptions { TableName = PostgresFixture.NewTable() });
        await store.UpsertAsync(vectors.Select((v, i) => new VectorRecord($"v{i}", v, new Dictionary<string, string> { ["half"] = (i % 2).ToString(System.Globalization.CultureInfo.InvariantCulture) })));

        foreach (var kind in new[] { BinaryCodeKind.Sign, BinaryCodeKind.Median })
        {
            var stages = new List<string>();
            await store.CreateApproximateIndexAsync(new ApproximateIndexOptions { CodeKind = kind }, new SynchronousProgress(stages));
            var info = await PgVectorStore.ReadInfoAsync(dataSource, store.TableName);
            Assert.True(info!.HasApproximateIndex);
            Assert.Equal(kind, info.CodeKind);
            Assert.Contains(stages, s => s.StartsWith("graph", StringComparison.Ordinal));

            double found = 0;
            for (var q = 0; q < 20; q++)
            {
                var query = vectors[random.Next(vectors.Count)].Select(x => x == 0 ? 0 : x + (float)((random.NextDouble() - 0.5) * 0.1)).ToArray();
                var exact = await store.SearchAsync(query, new VectorSearchOptions { Top = 10 });
                var approximate = await store.SearchAsync(query, new PgVectorSearchOptions { Store = new VectorSearchOptions { Top = 10 }, Mode = PgVectorSearchMode.Approximate, Candidates = 100 });
                found += approximate.Select(r => r.Id).Intersect(exact.Select(r => r.Id)).Count();
                var exactScores = exact.ToDictionary(r => r.Id, r => r.Similarity);
                Assert.All(approximate.Where(r => exactScores.ContainsKey(r.Id)), r => Assert.Equal(exactScores[r.Id], r.Similarity, 1e-6f));
                Assert.Equal(approximate.Select(r => r.Similarity).OrderDescending(), approximate.Select(r => r.Similarity));

                var filtered = await store.SearchAsync(query, new PgVectorSearchOptions { Store = new VectorSearchOptions { Top = 5, MetadataEquals = new Dictionary<string, string> { ["half"] = "1" }, ExcludeIds = new HashSet<string> { exact[0].Id } }, Mode = PgVectorSearchMode.Approximate });
                Assert.Equal(5, filtered.Count);
                Assert.All(filtered, r => Assert.Equal("1", r.Metadata["half"]));
                Assert.DoesNotContain(exact[0].Id, filtered.Select(r => r.Id));
            }

            Assert.True(found / 200 >= 0.9, $"{kind}: recall@10 {found / 200:F3}");
        }

        // A record added after the median index was built gets a code from the same medians and is found.
        var late = centres[5].Select(x => x * 1.01f).ToArray();
        await store.UpsertAsync([new VectorRecord("late", late)]);
        var hits = await store.SearchAsync(late, new PgVectorSearchOptions { Store = new VectorSearchOptions { Top = 1 }, Mode = PgVectorSearchMode.Approximate });
        Assert.Equal("late", hits[0].Id);
    }

    [SkippableFact]
    public async Task ApproximateIndexRebuiltByAnotherProcess_IsPickedUpBySearchesAndUpserts()
    {
        var dataSource = postgres.Require();
        var table = PostgresFixture.NewTable();
        var random = new Random(9);
        var vectors = Enumerable.Range(0, 400).Select(_ => Sparse(random, 64)).ToArray();
        await using var builder = new PgVectorStore(dataSource, 64, "m", new PgVectorStoreOptions { TableName = table });
        await using var other = new PgVectorStore(dataSource, 64, "m", new PgVectorStoreOptions { TableName = table });
        await builder.UpsertAsync(vectors.Select((v, i) => new VectorRecord($"v{i}", v)));
        await builder.CreateApproximateIndexAsync(new ApproximateIndexOptions { CodeKind = BinaryCodeKind.Sign });
        var approximate = new PgVectorSearchOptions { Store = new VectorSearchOptions { Top = 1 }, Mode = PgVectorSearchMode.Approximate, Candidates = 20 };
        Assert.Equal("v3", (await other.SearchAsync(vectors[3], approximate))[0].Id);

        await builder.CreateApproximateIndexAsync(new ApproximateIndexOptions { CodeKind = BinaryCodeKind.Median });
        var late = Sparse(random, 64);
        await other.UpsertAsync([new VectorRecord("late", late)]);
        Assert.Equal("late", (await builder.SearchAsync(late, approximate))[0].Id);
        Assert.Equal("late", (await other.SearchAsync(late, approximate))[0].Id);
        Assert.Equal("v7", (await other.SearchAsync(vectors[7], approximate))[0].Id);

        // The stored code of the late record is the median code, as the builder computes it.
        await using var command = dataSource.CreateCommand($"SELECT code::text FROM {table} WHERE id = 'late'");
        var thresholds = await ThresholdsAsync(dataSource, table);
        var unit = late.Select(x => x / MathF.Sqrt(late.Sum(y => y * y))).ToArray();
        Assert.Equal(string.Concat(unit.Select((x, i) => x > thresholds[i] ? '1' : '0')), await command.ExecuteScalarAsync());
    }

    [SkippableTheory]
    [InlineData(VectorPrecision.Single)]
    [InlineData(VectorPrecision.Half)]
    public async Task MedianCodesComputedInTheDatabase_EqualValueAboveThresholdOnEveryStoredVector(VectorPrecision precision)
    {
        var dataSource = postgres.Require();
        var table = PostgresFixture.NewTable();
        var random = new Random(17);
        // Mostly non-zero (70 %) so the medians are positive, not the zero of a sparse column.
        var vectors = Enumerable.Range(0, 301).Select(_ => Enumerable.Range(0, 96).Select(_ => random.NextDouble() < 0.7 ? (float)random.NextDouble() : 0f).ToArray()).ToArray();
        await using var store = new PgVectorStore(dataSource, 96, "m", new PgVectorStoreOptions { TableName = table, Precision = precision });
        await store.UpsertAsync(vectors.Select((v, i) => new VectorRecord($"v{i}", v)));
        var stages = new List<string>();
        await store.CreateApproximateIndexAsync(new ApproximateIndexOptions { CodeKind = BinaryCodeKind.Median, MedianSampleSize = 1000 }, new SynchronousProgress(stages));
        Assert.Contains(stages, s => s.StartsWith("codes: 301 recomputed", StringComparison.Ordinal));

        // Every sampled median is one of the stored values, so some values equal their threshold exactly (bit 0).
        var thresholds = await ThresholdsAsync(dataSource, table);
        var equalToThreshold = 0;
        await using var command = dataSource.CreateCommand($"SELECT embedding::real[], code::text FROM {table}");
        await using var reader = await command.ExecuteReaderAsync();
        var rows = 0;
        while (await reader.ReadAsync())
        {
            var stored = reader.GetFieldValue<float[]>(0);
            Assert.Equal(string.Concat(stored.Select((x, i) => x > thresholds[i] ? '1' : '0')), reader.GetString(1));
            equalToThreshold += stored.Where((x, i) => x == thresholds[i] && x != 0).Count();
            rows++;
        }

        Assert.Equal(301, rows);
        Assert.True(equalToThreshold > 0, "no stored value equals its (positive) median: the edge case was not exercised");
    }

    [SkippableFact]
    public async Task DependencyInjection_RegistersTheStoreOnTheExtractorsDimensionAndModel()
    {
        var dataSource = postgres.Require();
        var table = PostgresFixture.NewTable();
        var services = new ServiceCollection();
        services.AddSingleton<IFeatureExtractor>(new PoolingFeatureExtractor());
        services.AddImageSimilarityPgVector(postgres.Server!.ConnectionString, new PgVectorStoreOptions { TableName = table });
        await using var provider = services.BuildServiceProvider();
        var store = Assert.IsType<PgVectorStore>(provider.GetRequiredService<IVectorStore>());
        Assert.Equal((48, table), (store.Dimension, store.TableName));
        await store.UpsertAsync([new VectorRecord("x", Enumerable.Range(1, 48).Select(i => (float)i).ToArray())]);
        Assert.Equal(1, await store.CountAsync());
        Assert.NotNull(await PgVectorStore.ReadInfoAsync(dataSource, table));
    }

    private static async Task<float[]> ThresholdsAsync(NpgsqlDataSource dataSource, string table)
    {
        await using var command = dataSource.CreateCommand($"SELECT thresholds FROM imagesimilarity_stores WHERE table_name = '{table}'");
        return (float[])(await command.ExecuteScalarAsync())!;
    }

    private static float[] Sparse(Random random, int dimension)
    {
        var v = new float[dimension];
        for (var i = 0; i < dimension; i++)
        {
            v[i] = random.NextDouble() < 0.3 ? (float)random.NextDouble() * 2 : 0f;
        }

        return v;
    }

    private sealed class SynchronousProgress(List<string> lines) : IProgress<string>
    {
        public void Report(string value) => lines.Add(value);
    }
}
