using ImageSimilarity.TestSupport;
using Microsoft.Data.Sqlite;

namespace ImageSimilarity.Storage;

/// <summary>The SQLite index file: round trips, durability of every write, corruption and foreign files.</summary>
public sealed class PersistenceTests
{
    private const int Dimension = 37;

    [Theory]
    [InlineData(VectorPrecision.Single)]
    [InlineData(VectorPrecision.Half)]
    public async Task SaveAsync_ThenOpenAsync_RoundTripsEverything(VectorPrecision precision)
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("sub", "index.db");
        var rows = TestVectors.Random(3, 1200, Dimension);
        await using var store = EmbeddedVectorStore.Create(Dimension, "model-é", new EmbeddedVectorStoreOptions { Precision = precision });
        await store.UpsertAsync(rows.Select((r, i) => new VectorRecord($"id-{i}-ü", r, i % 2 == 0 ? new Dictionary<string, string> { ["source"] = $"/img/{i}.jpg", ["sha256"] = "ab", ["quote\"\n"] = "\u0001" } : null)));
        for (var i = 0; i < 1200; i += 7)
        {
            await store.DeleteAsync($"id-{i}-ü");
        }

        store.Properties["preset"] = "torchvision";
        store.Properties["empty"] = string.Empty;
        await store.SaveAsync(path);
        Assert.Empty(Directory.GetFiles(dir.Combine("sub"), "*.tmp"));
        Assert.Null(store.FilePath);

        await using var opened = await EmbeddedVectorStore.OpenAsync(path);
        Assert.Equal(path, opened.FilePath);
        Assert.Equal(Dimension, opened.Dimension);
        Assert.Equal("model-é", opened.ModelId);
        Assert.Equal(precision, opened.Precision);
        Assert.Equal(store.Count, opened.Count);
        Assert.Equal(store.CreatedUtc, opened.CreatedUtc);
        Assert.Equal(store.UpdatedUtc, opened.UpdatedUtc);
        Assert.Equal("torchvision", opened.Properties["preset"]);
        Assert.Equal(string.Empty, opened.Properties["empty"]);
        Assert.Equal(store.GetIds(), opened.GetIds());
        foreach (var id in store.GetIds())
        {
            var a = await store.GetAsync(id);
            var b = await opened.GetAsync(id);
            Assert.Equal(a!.Vector.ToArray(), b!.Vector.ToArray());
            Assert.Equal(a.Metadata, b.Metadata);
        }

        var query = TestVectors.Random(9, 1, Dimension)[0];
        var before = await store.SearchAsync(query, new VectorSearchOptions { Top = 20 });
        var after = await opened.SearchAsync(query, new VectorSearchOptions { Top = 20 });
        Assert.Equal(before.Select(r => (r.Id, r.Similarity)), after.Select(r => (r.Id, r.Similarity)));
    }

    [Fact]
    public async Task OpenOrCreateAsync_EveryUpsertAndDelete_IsDurableWithoutSaving()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("live.db");
        var rows = TestVectors.Random(4, 600, Dimension);
        await using var writer = await EmbeddedVectorStore.OpenOrCreateAsync(path, Dimension, "m", new EmbeddedVectorStoreOptions { Precision = VectorPrecision.Half });
        Assert.Equal(path, writer.FilePath);
        await writer.UpsertAsync(rows.Take(500).Select((r, i) => new VectorRecord($"r{i}", r, new Dictionary<string, string> { ["k"] = $"v{i}" })));
        await writer.UpsertAsync(new VectorRecord("r3", rows[599]));
        Assert.True(await writer.DeleteAsync("r4"));
        Assert.False(await writer.DeleteAsync("never"));

        // A second store on the same file (its own connection, as another process would have) sees all of it.
        await using var other = await EmbeddedVectorStore.OpenAsync(path);
        Assert.Equal(499, other.Count);
        Assert.Null(await other.GetAsync("r4"));
        Assert.Empty((await other.GetAsync("r3"))!.Metadata);
        Assert.Equal("v9", (await other.GetAsync("r9"))!.Metadata["k"]);
        Assert.Equal(VectorPrecision.Half, other.Precision);
        Assert.Equal("r3", (await other.SearchAsync(rows[599]))[0].Id);

        // And follows later changes of the first before each search, without reopening.
        await writer.DeleteAsync("r3");
        await writer.UpsertAsync(new VectorRecord("late", rows[598]));
        writer.Properties["preset"] = "keras";
        await writer.SaveChangesAsync();
        var hits = await other.SearchAsync(rows[598], new VectorSearchOptions { Top = 600 });
        Assert.Equal("late", hits[0].Id);
        Assert.DoesNotContain(hits, h => h.Id == "r3");
        Assert.Equal(499, await other.CountAsync());
        Assert.Equal("keras", other.Properties["preset"]);

        // Writes from the second store reach the first the same way.
        await other.UpsertAsync(new VectorRecord("from-other", rows[597]));
        Assert.Equal("from-other", (await writer.SearchAsync(rows[597]))[0].Id);
        Assert.Equal(500, await writer.CountAsync());
    }

    [Fact]
    public async Task ReadInfoAsync_DescribesTheIndexWithoutLoadingIt()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("index.db");
        await using var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, Dimension, "vgg16-fc2", new EmbeddedVectorStoreOptions { Precision = VectorPrecision.Half });
        store.Properties["preset"] = "keras";
        await store.UpsertAsync(TestVectors.Random(2, 50, Dimension).Select((v, i) => new VectorRecord($"r{i}", v)));

        var info = await EmbeddedVectorStore.ReadInfoAsync(path);
        Assert.Equal(Path.GetFullPath(path), info.FilePath);
        Assert.True(info.FileSize >= new FileInfo(path).Length);
        Assert.Equal(2, info.FormatVersion);
        Assert.Equal(Dimension, info.Dimension);
        Assert.Equal(VectorPrecision.Half, info.Precision);
        Assert.Equal(50, info.Count);
        Assert.Equal("vgg16-fc2", info.ModelId);
        Assert.Equal(store.CreatedUtc, info.CreatedUtc);
        Assert.Equal(store.UpdatedUtc, info.UpdatedUtc);
        Assert.Equal("keras", info.Properties["preset"]);
    }

    [Fact]
    public async Task OpenAsync_WithOtherPrecision_ConvertsInMemoryAndKeepsTheFilePrecision()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("index.db");
        var rows = TestVectors.Random(4, 3000, Dimension);
        await using (var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, Dimension, "m"))
        {
            await store.UpsertAsync(rows.Select((r, i) => new VectorRecord($"r{i}", r)));
        }

        await using var half = await EmbeddedVectorStore.OpenAsync(path, new EmbeddedVectorStoreOptions { Precision = VectorPrecision.Half });
        Assert.Equal(VectorPrecision.Half, half.Precision);
        await half.UpsertAsync(new VectorRecord("extra", rows[1]));
        Assert.Equal(VectorPrecision.Single, (await EmbeddedVectorStore.ReadInfoAsync(path)).Precision);
        var halfPath = dir.Combine("half.db");
        await half.SaveAsync(halfPath);
        Assert.True(new FileInfo(halfPath).Length < new FileInfo(path).Length * 0.75); // 37 dimensions: row overhead counts
        await using var single = await EmbeddedVectorStore.OpenAsync(halfPath, new EmbeddedVectorStoreOptions { Precision = VectorPrecision.Single });
        await single.DeleteAsync("extra");
        var exact = TestVectors.CosineF64(rows[17], rows);
        var ids = Enumerable.Range(0, rows.Length).Select(i => $"r{i}").ToArray();
        TestVectors.AssertRanking(await single.SearchAsync(rows[17]), ids, exact, 10, 3e-3);
    }

    [Fact]
    public async Task OpenOrCreateAsync_OtherModel_IsRefusedAndTheFileKept()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("index.db");
        await using (var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, 5, "a"))
        {
            await store.UpsertAsync(new VectorRecord("x", new float[] { 1, 2, 3, 4, 5 }));
        }

        await Assert.ThrowsAsync<ModelMismatchException>(() => EmbeddedVectorStore.OpenOrCreateAsync(path, 5, "b"));
        await Assert.ThrowsAsync<ModelMismatchException>(() => EmbeddedVectorStore.OpenOrCreateAsync(path, 6, "a"));
        await using var again = await EmbeddedVectorStore.OpenOrCreateAsync(path, 5, "a");
        Assert.Equal(1, again.Count);
    }

    [Fact]
    public async Task UpsertAsync_InvalidVectorInTheBatch_StoresNothingOfIt()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("index.db");
        await using var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, 3, "m");
        await store.UpsertAsync(new VectorRecord("keep", new float[] { 1, 0, 0 }));
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => store.UpsertAsync([new VectorRecord("a", new float[] { 0, 1, 0 }), new VectorRecord("bad", new float[] { float.NaN, 0, 0 })]));
        Assert.Equal("records", ex.ParamName);
        Assert.Contains("bad", ex.Message, StringComparison.Ordinal);
        Assert.Equal(["keep"], store.GetIds());
        await using var reopened = await EmbeddedVectorStore.OpenAsync(path);
        Assert.Equal(["keep"], reopened.GetIds());
    }

    [Theory]
    [InlineData(VectorPrecision.Single)]
    [InlineData(VectorPrecision.Half)]
    public async Task OpenAsync_LargeIndex_LoadsOnTwoConnectionsTheSameAsOnOne(VectorPrecision precision)
    {
        // Above 4096 records the open reads the two halves of the rowid range on two connections at once; with
        // MaxDegreeOfParallelism = 1 it reads on one. Both must give the source store exactly, gaps in rowids included.
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("large.db");
        const int Count = 9001;
        var rows = TestVectors.Random(21, Count, 16);
        var options = new EmbeddedVectorStoreOptions { Precision = precision };
        await using (var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, 16, "m", options))
        {
            await store.UpsertAsync(rows.Select((r, i) => new VectorRecord($"r{i}", r, i % 3 == 0 ? new Dictionary<string, string> { ["n"] = $"{i}" } : null)));
            foreach (var i in Enumerable.Range(0, Count).Where(i => i % 300 == 4))
            {
                await store.DeleteAsync($"r{i}");
            }

            await store.UpsertAsync([new VectorRecord("r5", rows[6]), new VectorRecord("late", rows[7])]);
        }

        await using var reference = EmbeddedVectorStore.Create(16, "m", options);
        await reference.UpsertAsync(rows.Select((r, i) => new VectorRecord($"r{i}", r, i % 3 == 0 ? new Dictionary<string, string> { ["n"] = $"{i}" } : null)).Where((_, i) => i % 300 != 4));
        await reference.UpsertAsync([new VectorRecord("r5", rows[6]), new VectorRecord("late", rows[7])]);

        await using var parallel = await EmbeddedVectorStore.OpenAsync(path);
        await using var single = await EmbeddedVectorStore.OpenAsync(path, new EmbeddedVectorStoreOptions { Precision = precision, MaxDegreeOfParallelism = 1 });
        Assert.Equal(reference.Count, parallel.Count);
        Assert.Equal(single.GetIds(), parallel.GetIds());
        Assert.Equal(reference.GetIds().Order(StringComparer.Ordinal), parallel.GetIds().Order(StringComparer.Ordinal));
        foreach (var id in reference.GetIds())
        {
            var expected = await reference.GetAsync(id);
            var actual = await parallel.GetAsync(id);
            Assert.Equal(expected!.Vector.ToArray(), actual!.Vector.ToArray());
            Assert.Equal(expected.Metadata, actual.Metadata);
        }

        var query = TestVectors.Random(22, 1, 16)[0];
        var want = await reference.SearchAsync(query, new VectorSearchOptions { Top = 50 });
        var got = await parallel.SearchAsync(query, new VectorSearchOptions { Top = 50 });
        Assert.Equal(want.Select(r => (r.Id, r.Similarity)), got.Select(r => (r.Id, r.Similarity)));

        // The store keeps working after a parallel open: new ids get new slots, deleted ones free theirs.
        await parallel.UpsertAsync([new VectorRecord("after", rows[8])]);
        await parallel.DeleteAsync("r1");
        Assert.Equal(reference.Count, parallel.Count);
        Assert.NotNull(await parallel.GetAsync("after"));
    }

    [Fact]
    public async Task OpenAsync_FlippedByteInTheSecondHalfOfALargeIndex_IsReportedWithFileAndId()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("large-flipped.db");
        const int Count = 6000;
        var rows = TestVectors.Random(23, Count, 64);
        await using (var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, 64, "m"))
        {
            await store.UpsertAsync(rows.Select((r, i) => new VectorRecord($"rec-{i}", r)));
        }

        var bytes = await File.ReadAllBytesAsync(path);
        var unit = new float[64];
        var norm = MathF.Sqrt(rows[5003].Sum(x => x * x));
        for (var d = 0; d < 64; d++)
        {
            unit[d] = rows[5003][d] / norm;
        }

        var needle = System.Runtime.InteropServices.MemoryMarshal.AsBytes(unit.AsSpan(0, 8)).ToArray();
        var at = bytes.AsSpan().IndexOf(needle);
        Assert.True(at > 0, "the vector was not found in the file");
        bytes[at + 100] ^= 0x10;
        await File.WriteAllBytesAsync(path, bytes);

        var ex = await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenAsync(path));
        Assert.Equal(path, ex.FilePath);
        Assert.Contains("rec-5003", ex.Message, StringComparison.Ordinal);
        Assert.Contains("checksum", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAsync_FlippedByteInsideAVector_IsReportedWithFileAndId()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("flipped.db");
        var rows = TestVectors.Random(6, 40, 256);
        await using (var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, 256, "m"))
        {
            await store.UpsertAsync(rows.Select((r, i) => new VectorRecord($"rec-{i}", r)));
        }

        // Find record 17's stored unit vector in the file and flip one bit in the middle of it.
        var bytes = await File.ReadAllBytesAsync(path);
        var unit = new float[256];
        var norm = MathF.Sqrt(rows[17].Sum(x => x * x));
        for (var d = 0; d < 256; d++)
        {
            unit[d] = rows[17][d] / norm;
        }

        var needle = System.Runtime.InteropServices.MemoryMarshal.AsBytes(unit.AsSpan(0, 16)).ToArray();
        var at = bytes.AsSpan().IndexOf(needle);
        Assert.True(at > 0, "the vector was not found in the file");
        bytes[at + 500] ^= 0x04;
        await File.WriteAllBytesAsync(path, bytes);

        var ex = await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenAsync(path));
        Assert.Equal(path, ex.FilePath);
        Assert.Contains("rec-17", ex.Message, StringComparison.Ordinal);
        Assert.Contains("checksum", ex.Message, StringComparison.Ordinal);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(path));
    }

    [Fact]
    public async Task OpenAsync_TruncatedFile_IsRefusedWithTheFileName()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var good = dir.Combine("good.db");
        await using (var store = await EmbeddedVectorStore.OpenOrCreateAsync(good, 256, "m"))
        {
            await store.UpsertAsync(TestVectors.Random(7, 300, 256).Select((r, i) => new VectorRecord($"r{i}", r)));
        }

        var bytes = await File.ReadAllBytesAsync(good);
        var path = dir.Combine("truncated.db");
        var random = new Random(8);
        foreach (var length in new[] { 0, 10, 99, 100, 4096, 8192, bytes.Length / 2, bytes.Length - 4096, bytes.Length - 1 }.Concat(Enumerable.Range(0, 6).Select(_ => random.Next(100, bytes.Length))))
        {
            await File.WriteAllBytesAsync(path, bytes.AsSpan(0, length).ToArray());
            var ex = await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenAsync(path));
            Assert.Equal(path, ex.FilePath);
            Assert.Contains(path, ex.Message, StringComparison.Ordinal);
            Assert.Equal(length, new FileInfo(path).Length);
            File.Delete(path + "-wal");
            File.Delete(path + "-shm");
        }
    }

    [Fact]
    public async Task OpenAsync_ForeignSqliteTextAndNewerFiles_GiveClearErrors()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var foreign = dir.Combine("photos.db");
        using (var connection = new SqliteConnection($"Data Source={foreign};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE photos (name TEXT, taken INTEGER); INSERT INTO photos VALUES ('a.jpg', 1);";
            command.ExecuteNonQuery();
        }

        var before = await File.ReadAllBytesAsync(foreign);
        var ex = await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenAsync(foreign));
        Assert.Contains("SQLite database but not an ImageSimilarity vector index", ex.Message, StringComparison.Ordinal);
        Assert.Equal(foreign, ex.FilePath);
        await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenOrCreateAsync(foreign, 4, "m"));
        await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.ReadInfoAsync(foreign));
        Assert.Equal(before, await File.ReadAllBytesAsync(foreign));

        var text = dir.Combine("notes.db");
        await File.WriteAllTextAsync(text, "these are my notes, not an index\n");
        Assert.Contains("not an ImageSimilarity vector index", (await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenAsync(text))).Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenOrCreateAsync(text, 4, "m"));
        Assert.Equal("these are my notes, not an index\n", await File.ReadAllTextAsync(text));

        var empty = dir.Combine("empty.db");
        await File.WriteAllBytesAsync(empty, []);
        Assert.Contains("empty", (await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenAsync(empty))).Message, StringComparison.Ordinal);

        var newer = dir.Combine("newer.db");
        await using (var store = await EmbeddedVectorStore.OpenOrCreateAsync(newer, 4, "m"))
        {
        }

        Sql(newer, "UPDATE properties SET value = '3' WHERE scope = 'store' AND key = 'format_version'");
        Assert.Contains("version 3", (await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenAsync(newer))).Message, StringComparison.Ordinal);
        Sql(newer, "UPDATE properties SET value = '1073741824' WHERE scope = 'store' AND key = 'format_version' OR key = 'dimension'");
        Sql(newer, "UPDATE properties SET value = '2' WHERE key = 'format_version'");
        Assert.Contains("dimension", (await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenAsync(newer))).Message, StringComparison.Ordinal);

        await Assert.ThrowsAsync<FileNotFoundException>(() => EmbeddedVectorStore.OpenAsync(dir.Combine("missing.db")));
    }

    [Fact]
    public async Task OpenAsync_RowWithWrongVectorLengthOrBadMetadata_IsReportedWithTheId()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("edited.db");
        await using (var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, 4, "m"))
        {
            await store.UpsertAsync([new VectorRecord("a", new float[] { 1, 2, 3, 4 }), new VectorRecord("b", new float[] { 4, 3, 2, 1 })]);
        }

        Sql(path, "UPDATE records SET vector = zeroblob(1000000) WHERE id = 'b'");
        var ex = await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenAsync(path));
        Assert.Contains("'b'", ex.Message, StringComparison.Ordinal);
        Sql(path, "DELETE FROM records WHERE id = 'b'");
        Sql(path, "UPDATE records SET metadata = '[1, 2]' WHERE id = 'a'");
        Assert.Contains("'a'", (await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenAsync(path))).Message, StringComparison.Ordinal);

        // Metadata is parsed when first used (an open does not build 100,000 dictionaries): an object with a
        // non-string value is reported then, naming the record.
        Sql(path, "UPDATE records SET metadata = '{\"k\": 1}' WHERE id = 'a'");
        await using var lazy = await EmbeddedVectorStore.OpenAsync(path);
        Assert.Contains("'a'", (await Assert.ThrowsAsync<IndexFileException>(() => lazy.GetAsync("a"))).Message, StringComparison.Ordinal);
        Sql(path, "UPDATE records SET metadata = '{\"k\": \"v\"}' WHERE id = 'a'");
        await using var fixedStore = await EmbeddedVectorStore.OpenAsync(path);
        Assert.Equal("v", (await fixedStore.GetAsync("a"))!.Metadata["k"]);
        Assert.Equal("v", (await fixedStore.SearchAsync(new float[] { 1, 2, 3, 4 }))[0].Metadata["k"]);
    }

    [Fact]
    public async Task SaveChangesAsync_WritesPropertiesAndCheckpoints()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("index.db");
        await using var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, 4, "m");
        store.Properties["a"] = "1";
        store.Properties["b"] = "2";
        await store.SaveChangesAsync();
        store.Properties.Remove("a");
        await store.SaveChangesAsync();
        var info = await EmbeddedVectorStore.ReadInfoAsync(path);
        Assert.False(info.Properties.ContainsKey("a"));
        Assert.Equal("2", info.Properties["b"]);

        // In-memory stores have nothing to save.
        await using var memory = EmbeddedVectorStore.Create(4, "m");
        await memory.SaveChangesAsync();
        Assert.Null(memory.FilePath);
    }

    [Fact]
    public async Task SaveAsync_OverAnIndexInUse_IsRefused()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("index.db");
        await using var live = await EmbeddedVectorStore.OpenOrCreateAsync(path, 3, "m");
        await live.UpsertAsync(new VectorRecord("a", new float[] { 1, 0, 0 }));
        await using var copy = EmbeddedVectorStore.Create(3, "m");
        var ex = await Assert.ThrowsAsync<IOException>(() => copy.SaveAsync(path));
        Assert.Contains("write-ahead log", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, await live.CountAsync());
    }

    [Fact]
    public async Task SaveAsync_CancelledMidSave_LeavesTheOldFileAndNoTemporaryFile()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("index.db");
        await using var store = EmbeddedVectorStore.Create(Dimension, "m");
        await store.UpsertAsync(TestVectors.Random(1, 3000, Dimension).Select((r, i) => new VectorRecord($"r{i}", r)));
        await store.SaveAsync(path);
        var before = await File.ReadAllBytesAsync(path);

        // Large enough that writing the copy takes a while (it checks the token every 1024 records).
        await store.UpsertAsync(TestVectors.Random(2, 200_000, Dimension).Select((r, i) => new VectorRecord($"b{i}", r)));
        using var cts = new CancellationTokenSource();
        var save = Task.Run(() => store.SaveAsync(path, cts.Token));

        // Cancel only once the save is under way: its temporary file exists.
        while (!save.IsCompleted && !Directory.EnumerateFiles(dir.Path, "*.tmp").Any())
        {
            await Task.Delay(1);
        }

        Assert.False(save.IsCompleted, "the save finished before its temporary file was seen: the cancellation would not land mid-save");
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => save);
        Assert.Equal(before, await File.ReadAllBytesAsync(path));
        Assert.Equal([path], Directory.GetFiles(dir.Path));
    }

    internal static void Sql(string path, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
