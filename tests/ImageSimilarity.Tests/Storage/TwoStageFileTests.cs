using System.Globalization;
using ImageSimilarity.TestSupport;
using Microsoft.Data.Sqlite;

namespace ImageSimilarity.Storage;

/// <summary>
/// Two-stage search bound to an index file: binary codes persisted in the <c>binary_codes</c> table and read (not
/// re-encoded) by an open, vectors kept only in the file (<see cref="EmbeddedVectorStoreOptions.VectorsInMemory"/> =
/// false) compared with the in-memory store, other instances' writes and rebuilds seen after a refresh, damaged codes
/// and vectors named in the errors, and the two-stage setting recorded per index. Real SQLite files throughout.
/// </summary>
[Collection(MultiProcessCollection.Name)]
public sealed class TwoStageFileTests : IDisposable
{
    private static readonly EmbeddedVectorStoreOptions OnDisk = new() { VectorsInMemory = false };

    private readonly TempDirectory _dir = TestPaths.CreateTempDirectory("imgsim-twostage-file");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task BuildBinaryCodesAsync_WritesEveryRecordsCodeToTheFile_EqualToEncodingItsStoredVector()
    {
        var path = _dir.Combine("codes.db");
        var (rows, _) = Int8PrecisionTests.ReluLike(seed: 31, count: 300, dimension: 100, queryCount: 0);
        await using var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, 100, "relu");
        await store.UpsertAsync(rows.Take(200).Select((v, i) => new VectorRecord($"r{i}", v)));
        await store.BuildBinaryCodesAsync();

        // Added after the build: written with the record, in the same transaction.
        await store.UpsertAsync(rows.Skip(200).Select((v, i) => new VectorRecord($"r{200 + i}", v)));
        Assert.True(await store.DeleteAsync("r7"));
        var codes = store.Blocks.Codes!;
        var stored = ReadStoredCodes(path);
        Assert.Equal(299, stored.Count);
        Assert.DoesNotContain("r7", stored.Keys);
        var expected = new ulong[codes.Words];
        var bytes = new byte[codes.CodeBytes];
        foreach (var (id, (current, code)) in stored)
        {
            Assert.True(current, $"the code of {id} does not carry its record's checksum");
            codes.Encode((await store.GetAsync(id))!.Vector.Span, expected);
            BinaryCodes.ToBytes(expected, bytes);
            Assert.Equal(bytes, code);
        }

        // The delete removed the code row too (no orphan left behind).
        Assert.Equal(299L, Scalar(path, "SELECT count(*) FROM binary_codes"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task OpenAsync_ReadsTheStoredCodesInsteadOfReEncoding(bool vectorsInMemory)
    {
        var path = _dir.Combine("read.db");
        var (rows, _) = Int8PrecisionTests.ReluLike(seed: 32, count: 120, dimension: 64, queryCount: 0);
        await using (var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, 64, "relu"))
        {
            await store.UpsertAsync(rows.Select((v, i) => new VectorRecord($"r{i}", v)));
            await store.BuildBinaryCodesAsync();
        }

        // A code that re-encoding would never give (all bits set), with the record's checksum: if the open re-encoded,
        // the store would hold the true code instead.
        Exec(path, "UPDATE binary_codes SET code = x'ffffffffffffffff' WHERE record = (SELECT rowid FROM records WHERE id = 'r5')");
        await using var reopened = await EmbeddedVectorStore.OpenAsync(path, vectorsInMemory ? null : OnDisk);
        Assert.Equal([ulong.MaxValue], reopened.CodeOf("r5")!);
        Assert.NotEqual([ulong.MaxValue], reopened.CodeOf("r6")!);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task OpenAsync_MissingWrongLengthOrStaleCodes_AreReEncodedFromTheVectorAndWrittenBack(bool vectorsInMemory)
    {
        var path = _dir.Combine("repair.db");
        var (rows, _) = Int8PrecisionTests.ReluLike(seed: 33, count: 150, dimension: 96, queryCount: 0);
        Dictionary<string, (bool, byte[])> original;
        await using (var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, 96, "relu"))
        {
            await store.UpsertAsync(rows.Select((v, i) => new VectorRecord($"r{i}", v)));
            await store.BuildBinaryCodesAsync();
            original = ReadStoredCodes(path);
        }

        Exec(path, "DELETE FROM binary_codes WHERE record = (SELECT rowid FROM records WHERE id = 'r1')");
        Exec(path, "UPDATE binary_codes SET code = x'00' WHERE record = (SELECT rowid FROM records WHERE id = 'r2')");
        Exec(path, "UPDATE binary_codes SET checksum = checksum + 1, code = zeroblob(16) WHERE record = (SELECT rowid FROM records WHERE id = 'r3')");
        await using var reopened = await EmbeddedVectorStore.OpenAsync(path, vectorsInMemory ? null : OnDisk);
        var codes = reopened.Blocks.Codes!;
        var expected = new ulong[codes.Words];
        foreach (var id in new[] { "r1", "r2", "r3", "r4" })
        {
            codes.Encode((await reopened.GetAsync(id))!.Vector.Span, expected);
            Assert.Equal(expected, reopened.CodeOf(id));
        }

        // The open stored what it had to make, so the next open reads it.
        Assert.Equal(original.Select(Hex).Order(), ReadStoredCodes(path).Select(Hex).Order());
    }

    [Fact]
    public async Task OpenAsync_VectorsOnDisk_MissingCodeAndDamagedVector_IsAnIndexFileExceptionNamingFileAndRecord()
    {
        var path = _dir.Combine("damaged-code.db");
        var (rows, _) = Int8PrecisionTests.ReluLike(seed: 34, count: 40, dimension: 32, queryCount: 0);
        await using (var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, 32, "relu"))
        {
            await store.UpsertAsync(rows.Select((v, i) => new VectorRecord($"r{i}", v)));
            await store.BuildBinaryCodesAsync();
        }

        Exec(path, "UPDATE binary_codes SET code = x'0102' WHERE record = (SELECT rowid FROM records WHERE id = 'r9')");
        Exec(path, "UPDATE records SET vector = zeroblob(length(vector)) WHERE id = 'r9'");
        var ex = await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenAsync(path, OnDisk));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("'r9'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("checksum", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VectorsOnDisk_OpenDoesNotReadTheVectors_ADamagedCandidateIsNamedWhenASearchNeedsIt()
    {
        var path = _dir.Combine("damaged-vector.db");
        var (rows, _) = Int8PrecisionTests.ReluLike(seed: 35, count: 200, dimension: 64, queryCount: 0);
        await using (var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, 64, "relu"))
        {
            await store.UpsertAsync(rows.Select((v, i) => new VectorRecord($"r{i}", v)));
            await store.BuildBinaryCodesAsync();
        }

        Exec(path, "UPDATE records SET vector = zeroblob(length(vector)) WHERE id = 'r17'");

        // In memory the open checks every vector; kept on disk, it reads none of them.
        var inMemory = await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenAsync(path));
        Assert.Contains("'r17'", inMemory.Message, StringComparison.Ordinal);
        await using var onDisk = await EmbeddedVectorStore.OpenAsync(path, OnDisk);
        Assert.Equal(200, onDisk.Count);

        // A search whose candidates leave r17 out works; one that must read it says which record and file.
        var far = await onDisk.SearchAsync(rows[3], new VectorSearchOptions { Top = 1, Candidates = 1 });
        Assert.Equal("r3", far[0].Id);
        var twoStage = await Assert.ThrowsAsync<IndexFileException>(() => onDisk.SearchAsync(rows[17], new VectorSearchOptions { Candidates = 20 }));
        Assert.Contains(path, twoStage.Message, StringComparison.Ordinal);
        Assert.Contains("'r17'", twoStage.Message, StringComparison.Ordinal);
        var exact = await Assert.ThrowsAsync<IndexFileException>(() => onDisk.SearchAsync(rows[3]));
        Assert.Contains("'r17'", exact.Message, StringComparison.Ordinal);
        var get = await Assert.ThrowsAsync<IndexFileException>(() => onDisk.GetAsync("r17"));
        Assert.Contains("'r17'", get.Message, StringComparison.Ordinal);
        Assert.NotNull(await onDisk.GetAsync("r16"));
    }

    [Theory]
    [InlineData(VectorPrecision.Single)]
    [InlineData(VectorPrecision.Half)]
    [InlineData(VectorPrecision.Int8)]
    public async Task VectorsOnDisk_GivesTheResultsOfTheInMemoryStore_ExactAndTwoStage(VectorPrecision precision)
    {
        var path = _dir.Combine($"same-{precision}.db");
        var (rows, queries) = Int8PrecisionTests.ReluLike(seed: 36, count: 1500, dimension: 128, queryCount: 8);
        var metadata = (int i) => new Dictionary<string, string> { ["group"] = (i % 3).ToString(CultureInfo.InvariantCulture) };
        await using var memory = await EmbeddedVectorStore.OpenOrCreateAsync(path, 128, "relu", new EmbeddedVectorStoreOptions { Precision = precision });
        await memory.UpsertAsync(rows.Select((v, i) => new VectorRecord($"r{i}", v, metadata(i))));
        await memory.BuildBinaryCodesAsync();
        await using var disk = await EmbeddedVectorStore.OpenAsync(path, OnDisk);
        Assert.False(disk.VectorsInMemory);
        Assert.Equal(precision, disk.Precision);
        Assert.Equal(0, disk.VectorMemoryBytes);
        Assert.True(disk.BinaryCodeMemoryBytes >= 1500L * 16);
        Assert.True(memory.VectorMemoryBytes > 0);

        var exclude = new HashSet<string> { "r0", "r1", "r2" };
        VectorSearchOptions[] variants =
        [
            new() { Top = 15 },
            new() { Top = 15, Candidates = 100 },
            new() { Top = 7, Candidates = 60, ExcludeIds = exclude, MetadataEquals = new Dictionary<string, string> { ["group"] = "1" } },
            new() { Top = 7, ExcludeIds = exclude, MetadataEquals = new Dictionary<string, string> { ["group"] = "2" }, MinSimilarity = 0.5f },
        ];
        foreach (var options in variants)
        {
            foreach (var query in queries)
            {
                var expected = (await memory.SearchAsync(query, options)).Select(r => (r.Id, r.Similarity)).ToArray();
                Assert.NotEmpty(expected);
                Assert.Equal(expected, (await disk.SearchAsync(query, options)).Select(r => (r.Id, r.Similarity)));
            }

            var batchMemory = await memory.SearchBatchAsync(queries.Select(q => (ReadOnlyMemory<float>)q).ToArray(), options);
            var batchDisk = await disk.SearchBatchAsync(queries.Select(q => (ReadOnlyMemory<float>)q).ToArray(), options);
            for (var q = 0; q < queries.Length; q++)
            {
                Assert.Equal(batchMemory[q].Select(r => (r.Id, r.Similarity)), batchDisk[q].Select(r => (r.Id, r.Similarity)));
            }
        }

        var fromDisk = (await disk.GetAsync("r42"))!;
        Assert.Equal((await memory.GetAsync("r42"))!.Vector.ToArray(), fromDisk.Vector.ToArray());
        Assert.Equal("0", fromDisk.Metadata["group"]);
    }

    [Theory]
    [InlineData(VectorPrecision.Single)]
    [InlineData(VectorPrecision.Int8)]
    public async Task VectorsOnDisk_UpsertReplaceDeleteAndReopen(VectorPrecision precision)
    {
        var path = _dir.Combine($"writes-{precision}.db");
        var (rows, _) = Int8PrecisionTests.ReluLike(seed: 37, count: 400, dimension: 64, queryCount: 0);
        var options = new EmbeddedVectorStoreOptions { Precision = precision, VectorsInMemory = false };
        (string, float)[] before;
        await using (var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, 64, "relu", options))
        {
            Assert.False(store.VectorsInMemory);

            // Without codes: searches are exact, from the file.
            await store.UpsertAsync(rows.Take(300).Select((v, i) => new VectorRecord($"r{i}", v)));
            Assert.Equal("r12", (await store.SearchAsync(rows[12], new VectorSearchOptions { Top = 1, Candidates = 5 }))[0].Id);
            await store.EnableTwoStageAsync(40);

            // Writes after the codes exist: coded from the stored medians, found by two-stage search.
            await store.UpsertAsync(rows.Skip(300).Select((v, i) => new VectorRecord($"r{300 + i}", v)));
            await store.UpsertAsync(new VectorRecord("r5", rows[399], new Dictionary<string, string> { ["replaced"] = "yes" }));
            Assert.True(await store.DeleteAsync("r6"));
            Assert.Equal(399, store.Count);
            var hits = await store.SearchAsync(rows[399], new VectorSearchOptions { Top = 2 });
            Assert.Equal(["r399", "r5"], hits.Select(h => h.Id).Order());
            Assert.Equal("yes", (await store.GetAsync("r5"))!.Metadata["replaced"]);
            Assert.Null(await store.GetAsync("r6"));
            Assert.DoesNotContain("r6", (await store.SearchAsync(rows[6], new VectorSearchOptions { Top = 20 })).Select(h => h.Id));
            before = (await store.SearchAsync(rows[250])).Select(r => (r.Id, r.Similarity)).ToArray();
            var codes = store.Blocks.Codes!;
            var expected = new ulong[codes.Words];
            codes.Encode((await store.GetAsync("r350"))!.Vector.Span, expected);
            Assert.Equal(expected, store.CodeOf("r350"));
        }

        await using (var reopened = await EmbeddedVectorStore.OpenAsync(path, options))
        {
            Assert.Equal(399, reopened.Count);
            Assert.Equal(40, reopened.TwoStageCandidates);
            Assert.Equal(before, (await reopened.SearchAsync(rows[250])).Select(r => (r.Id, r.Similarity)));
        }

        await using var inMemory = await EmbeddedVectorStore.OpenAsync(path);
        Assert.Equal(before, (await inMemory.SearchAsync(rows[250])).Select(r => (r.Id, r.Similarity)));
    }

    [Fact]
    public async Task VectorsOnDisk_NeedsAnIndexFile()
    {
        var ex = Assert.Throws<ArgumentException>(() => EmbeddedVectorStore.Create(8, "m", OnDisk));
        Assert.Contains("OpenOrCreateAsync", ex.Message, StringComparison.Ordinal);

        // An old single-file index cannot keep its vectors on disk either.
        await using (var store = EmbeddedVectorStore.Create(8, "m"))
        {
            await store.UpsertAsync(new VectorRecord("a", Enumerable.Range(1, 8).Select(i => (float)i).ToArray()));
            await store.SaveLegacyAsync(_dir.Combine("old.isvs"));
        }

        var legacy = await Assert.ThrowsAsync<ArgumentException>(() => EmbeddedVectorStore.OpenAsync(_dir.Combine("old.isvs"), OnDisk));
        Assert.Contains("old.isvs", legacy.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Refresh_AnotherInstancesWritesAndCodeRebuildsAreSeenWithoutReopening(bool readerVectorsInMemory)
    {
        var path = _dir.Combine($"refresh-{readerVectorsInMemory}.db");
        var (rows, queries) = Int8PrecisionTests.ReluLike(seed: 38, count: 900, dimension: 96, queryCount: 4);
        await using var writer = await EmbeddedVectorStore.OpenOrCreateAsync(path, 96, "relu");
        await writer.UpsertAsync(rows.Take(300).Select((v, i) => new VectorRecord($"r{i}", v)));
        await using var reader = await EmbeddedVectorStore.OpenAsync(path, readerVectorsInMemory ? null : OnDisk);
        Assert.False(reader.HasBinaryCodes);

        // The other instance builds codes: the reader loads them at its next search.
        await writer.BuildBinaryCodesAsync();
        await reader.CountAsync();
        Assert.True(reader.HasBinaryCodes);
        AssertSameCodes(writer, reader, 300);

        // New and changed rows arrive with their codes; a two-stage search sees them.
        await writer.UpsertAsync(rows.Skip(300).Take(300).Select((v, i) => new VectorRecord($"r{300 + i}", v)));
        await writer.UpsertAsync(new VectorRecord("r1", rows[898]));
        Assert.True(await writer.DeleteAsync("r2"));
        Assert.Equal("r450", (await reader.SearchAsync(rows[450], new VectorSearchOptions { Top = 1, Candidates = 10 }))[0].Id);
        AssertSameCodes(writer, reader, 600);
        Assert.Null(reader.CodeOf("r2"));

        // A rebuild after the collection grew changes the medians: every code is reloaded.
        await writer.UpsertAsync(rows.Skip(600).Select((v, i) => new VectorRecord($"r{600 + i}", v)));
        var oldMedians = writer.Blocks.Codes!.Medians.ToArray();
        await writer.BuildBinaryCodesAsync();
        Assert.NotEqual(oldMedians, writer.Blocks.Codes!.Medians.ToArray());
        await writer.EnableTwoStageAsync(120);
        Assert.Equal(900 - 1, await reader.CountAsync());
        Assert.Equal(writer.Blocks.Codes!.Medians.ToArray(), reader.Blocks.Codes!.Medians.ToArray());
        AssertSameCodes(writer, reader, 900);
        Assert.Equal(120, reader.TwoStageCandidates);
        foreach (var query in queries)
        {
            Assert.Equal(
                (await writer.SearchAsync(query)).Select(r => (r.Id, r.Similarity)),
                (await reader.SearchAsync(query)).Select(r => (r.Id, r.Similarity)));
        }
    }

    [Fact]
    public async Task Refresh_AnotherProcessWritesCodedRecords_SeenWithoutReopening()
    {
        const int Dim = 64;
        var path = _dir.Combine("child.db");
        await using var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, Dim, WriterVectors.ModelId, OnDisk);
        await store.UpsertAsync(Enumerable.Range(0, 200).Select(i => new VectorRecord($"base-{i}", WriterVectors.For($"base-{i}", Dim))));
        await store.EnableTwoStageAsync(30);

        // A real child process (tests/ImageSimilarity.SaveCrashHelper) opens the index with the vectors in memory and
        // commits 5 batches of 20; it codes them with the medians it read from the file.
        using (var writer = WriterProcess.Start(path, Dim, "child", 5, 20))
        {
            Assert.True(await writer.WaitAsync(TimeSpan.FromSeconds(120)) == 0, writer.Errors);
        }

        Assert.Equal(300, await store.CountAsync());
        var stored = ReadStoredCodes(path);
        Assert.Equal(300, stored.Count);
        Assert.All(stored.Values, v => Assert.True(v.Current));
        var codes = store.Blocks.Codes!;
        var expected = new ulong[codes.Words];
        for (var batch = 0; batch < 5; batch++)
        {
            for (var i = 0; i < 20; i++)
            {
                var id = $"child-{batch}-{i}";
                codes.Encode((await store.GetAsync(id))!.Vector.Span, expected);
                Assert.Equal(expected, store.CodeOf(id));
            }
        }

        // The index's default two-stage search finds them, re-ranked from the file.
        Assert.Equal("child-3-7", (await store.SearchAsync(WriterVectors.For("child-3-7", Dim)))[0].Id);
    }

    [Fact]
    public async Task EnableTwoStageAsync_IsRecordedInTheIndex_ShownByInfo_AndExactOverridesIt()
    {
        var path = _dir.Combine("enable.db");
        var (rows, queries) = Int8PrecisionTests.ReluLike(seed: 39, count: 2000, dimension: 64, queryCount: 6);
        await using (var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, 64, "relu", new EmbeddedVectorStoreOptions { Precision = VectorPrecision.Int8 }))
        {
            await store.UpsertAsync(rows.Select((v, i) => new VectorRecord($"r{i}", v)));
            var info = await EmbeddedVectorStore.ReadInfoAsync(path);
            Assert.False(info.HasBinaryCodes);
            Assert.Null(info.TwoStageCandidates);
            Assert.Null(store.TwoStageCandidates);
            Assert.False(store.HasBinaryCodes);

            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.EnableTwoStageAsync(0));
            await store.EnableTwoStageAsync(25);
            Assert.True(store.HasBinaryCodes);
            Assert.Equal(25, store.TwoStageCandidates);

            // A file of an earlier version without the covering index gets it back when two-stage is enabled.
            Exec(path, "DROP INDEX records_head");
            await store.EnableTwoStageAsync(25);
            Assert.Equal(1L, Scalar(path, "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = 'records_head'"));
        }

        var recorded = await EmbeddedVectorStore.ReadInfoAsync(path);
        Assert.True(recorded.HasBinaryCodes);
        Assert.Equal(25, recorded.TwoStageCandidates);
        Assert.Equal(VectorPrecision.Int8, recorded.Precision);

        await using (var reopened = await EmbeddedVectorStore.OpenAsync(path))
        {
            Assert.Equal(25, reopened.TwoStageCandidates);
            var differs = 0;
            foreach (var query in queries)
            {
                // The default is the index's two-stage search; Exact forces a full scan for one query.
                var byDefault = (await reopened.SearchAsync(query)).Select(r => (r.Id, r.Similarity)).ToArray();
                Assert.Equal(byDefault, (await reopened.SearchAsync(query, new VectorSearchOptions { Candidates = 25 })).Select(r => (r.Id, r.Similarity)));
                var exact = (await reopened.SearchAsync(query, new VectorSearchOptions { Exact = true })).Select(r => (r.Id, r.Similarity)).ToArray();
                var wide = (await reopened.SearchAsync(query, new VectorSearchOptions { Candidates = 2000 })).Select(r => r.Id).ToArray();
                Assert.Equal(exact.Select(r => r.Id), wide);
                differs += byDefault.SequenceEqual(exact) ? 0 : 1;
            }

            // 25 candidates of 2,000 rows miss some of the exact top 10: the two modes really differ.
            Assert.True(differs > 0, "two-stage with 25 candidates returned the exact results for every query");
            await reopened.DisableTwoStageAsync();
            Assert.Null(reopened.TwoStageCandidates);
            Assert.True(reopened.HasBinaryCodes);
        }

        var disabled = await EmbeddedVectorStore.ReadInfoAsync(path);
        Assert.Null(disabled.TwoStageCandidates);
        Assert.True(disabled.HasBinaryCodes);
    }

    [Fact]
    public void Exact_WithCandidates_IsRefused_AndWithTopKeepsBoth()
    {
        Assert.Throws<ArgumentException>(() => new VectorSearchOptions { Exact = true, Candidates = 5 });
        Assert.Throws<ArgumentException>(() => new VectorSearchOptions { Candidates = 5, Exact = true });
        Assert.False(VectorSearchOptions.Default.Exact);
        var exact = new VectorSearchOptions { Exact = true, Top = 3 }.WithTop(9);
        Assert.True(exact.Exact);
        Assert.Equal(9, exact.Top);
        Assert.Equal(50, new VectorSearchOptions { Candidates = 50 }.WithTop(4).Candidates);
    }

    /// <summary>The recall floors of <see cref="TwoStageSearchTests"/>, with the vectors read from the file for the re-rank.</summary>
    [Theory]
    [InlineData(VectorPrecision.Single, 200, 0.99)]
    [InlineData(VectorPrecision.Half, 200, 0.99)]
    [InlineData(VectorPrecision.Int8, 400, 0.96)]
    public async Task VectorsOnDisk_TwoStageRecallAt10AgainstExactFp32IsAboveTheFloor(VectorPrecision precision, int candidates, double floor)
    {
        var path = _dir.Combine($"recall-{precision}.db");
        var (rows, queries) = Int8PrecisionTests.ReluLike(seed: 2024, count: 4000, dimension: 512, queryCount: 60);
        await using var exact = EmbeddedVectorStore.Create(512, "relu");
        await exact.UpsertAsync(rows.Select((v, i) => new VectorRecord($"r{i}", v)));
        await using (var writer = await EmbeddedVectorStore.OpenOrCreateAsync(path, 512, "relu", new EmbeddedVectorStoreOptions { Precision = precision }))
        {
            await writer.UpsertAsync(rows.Select((v, i) => new VectorRecord($"r{i}", v)));
            await writer.EnableTwoStageAsync(candidates);
        }

        await using var store = await EmbeddedVectorStore.OpenAsync(path, OnDisk);
        var hits = 0;
        foreach (var query in queries)
        {
            var truth = (await exact.SearchAsync(query)).Select(r => r.Id).ToHashSet();
            var found = await store.SearchAsync(query);
            Assert.Equal(10, found.Count);
            hits += found.Count(r => truth.Contains(r.Id));
        }

        var recall = hits / (10.0 * queries.Length);
        Assert.True(recall >= floor, $"two-stage {precision} from the file with {candidates} candidates: recall@10 {recall:F3} is below {floor}");
    }

    [SkippableTheory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task OpenAsync_OlderFileWithMediansButNoCodesTable_OpensReadOnlyWithCodes(bool vectorsInMemory)
    {
        var mount = TmpfsMount.TryCreate("16m", out var reason);
        if (mount is null)
        {
            Assert.False(TestPaths.IsCi, reason);
            Skip.If(true, reason);
        }

        using (mount)
        {
            var path = Path.Combine(mount!.Path, "old.db");
            var (rows, queries) = Int8PrecisionTests.ReluLike(seed: 40, count: 300, dimension: 64, queryCount: 3);
            var expected = new List<(string, float)[]>();
            await using (var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, 64, "relu"))
            {
                await store.UpsertAsync(rows.Select((v, i) => new VectorRecord($"r{i}", v)));
                await store.BuildBinaryCodesAsync();
                foreach (var query in queries)
                {
                    expected.Add((await store.SearchAsync(query, new VectorSearchOptions { Candidates = 30 })).Select(r => (r.Id, r.Similarity)).ToArray());
                }
            }

            // What the previous version wrote: the medians property, no codes table, no covering index.
            Exec(path, "DROP TABLE binary_codes; DROP INDEX records_head; DELETE FROM properties WHERE key = 'binary_code_layout'; PRAGMA wal_checkpoint(TRUNCATE);");
            File.Delete(path + "-wal");
            File.Delete(path + "-shm");
            mount.RemountReadOnly();
            await using var old = await EmbeddedVectorStore.OpenAsync(path, vectorsInMemory ? null : OnDisk);
            Assert.True(old.IsReadOnly);
            Assert.True(old.HasBinaryCodes);
            for (var q = 0; q < queries.Length; q++)
            {
                Assert.Equal(expected[q], (await old.SearchAsync(queries[q], new VectorSearchOptions { Candidates = 30 })).Select(r => (r.Id, r.Similarity)));
            }
        }
    }

    private static string Hex(KeyValuePair<string, (bool Current, byte[] Code)> row) => $"{row.Key} {row.Value.Current} {Convert.ToHexString(row.Value.Code)}";

    private static void AssertSameCodes(EmbeddedVectorStore expected, EmbeddedVectorStore actual, int rows)
    {
        foreach (var id in expected.GetIds())
        {
            Assert.Equal(expected.CodeOf(id), actual.CodeOf(id));
        }

        Assert.Equal(rows - (expected.GetIds().Contains("r2") ? 0 : 1), actual.GetIds().Count);
    }

    /// <summary>The codes table by record id: whether the code carries the record's current checksum, and its bytes.</summary>
    private static Dictionary<string, (bool Current, byte[] Code)> ReadStoredCodes(string path)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False;Mode=ReadOnly");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT r.id, c.checksum = r.checksum, c.code FROM binary_codes c JOIN records r ON r.rowid = c.record";
        using var reader = command.ExecuteReader();
        var result = new Dictionary<string, (bool, byte[])>(StringComparer.Ordinal);
        while (reader.Read())
        {
            result.Add(reader.GetString(0), (reader.GetBoolean(1), (byte[])reader.GetValue(2)));
        }

        return result;
    }

    private static void Exec(string path, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(string path, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
