using ImageSimilarity.TestSupport;

namespace ImageSimilarity.Storage;

public sealed class PersistenceTests
{
    private const int Dimension = 37;

    [Theory]
    [InlineData(VectorPrecision.Single)]
    [InlineData(VectorPrecision.Half)]
    public async Task SaveAsync_ThenOpenAsync_RoundTripsEverything(VectorPrecision precision)
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("sub", "index.isvs");
        var rows = TestVectors.Random(3, 1200, Dimension);
        await using var store = EmbeddedVectorStore.Create(Dimension, "model-é", new EmbeddedVectorStoreOptions { Precision = precision });
        await store.UpsertAsync(rows.Select((r, i) => new VectorRecord($"id-{i}-ü", r, i % 2 == 0 ? new Dictionary<string, string> { ["source"] = $"/img/{i}.jpg", ["sha256"] = "ab" } : null)));
        for (var i = 0; i < 1200; i += 7)
        {
            await store.DeleteAsync($"id-{i}-ü");
        }

        store.Properties["preset"] = "torchvision";
        store.Properties["empty"] = string.Empty;
        await store.SaveAsync(path);
        Assert.False(File.Exists(path + ".tmp"));

        await using var opened = await EmbeddedVectorStore.OpenAsync(path);
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
    public async Task ReadInfoAsync_DescribesTheIndexWithoutLoadingIt()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("index.isvs");
        await using var store = EmbeddedVectorStore.Create(Dimension, "vgg16-fc2", new EmbeddedVectorStoreOptions { Precision = VectorPrecision.Half });
        await store.UpsertAsync(TestVectors.Random(2, 50, Dimension).Select((v, i) => new VectorRecord($"r{i}", v)));
        store.Properties["preset"] = "keras";
        await store.SaveAsync(path);

        var info = await EmbeddedVectorStore.ReadInfoAsync(path);
        Assert.Equal(Path.GetFullPath(path), info.FilePath);
        Assert.Equal(new FileInfo(path).Length, info.FileSize);
        Assert.Equal(1, info.FormatVersion);
        Assert.Equal(Dimension, info.Dimension);
        Assert.Equal(VectorPrecision.Half, info.Precision);
        Assert.Equal(50, info.Count);
        Assert.Equal("vgg16-fc2", info.ModelId);
        Assert.Equal(store.CreatedUtc, info.CreatedUtc);
        Assert.Equal(store.UpdatedUtc, info.UpdatedUtc);
        Assert.Equal("keras", info.Properties["preset"]);

        var bytes = await File.ReadAllBytesAsync(path);
        await File.WriteAllBytesAsync(path, bytes.AsSpan(0, 64).ToArray());
        await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.ReadInfoAsync(path));
    }

    [Fact]
    public async Task OpenAsync_WithOtherPrecision_ConvertsWhileLoading()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("index.isvs");
        var rows = TestVectors.Random(4, 3000, Dimension);
        await using (var store = EmbeddedVectorStore.Create(Dimension, "m"))
        {
            await store.UpsertAsync(rows.Select((r, i) => new VectorRecord($"r{i}", r)));
            await store.SaveAsync(path);
        }

        await using var half = await EmbeddedVectorStore.OpenAsync(path, new EmbeddedVectorStoreOptions { Precision = VectorPrecision.Half });
        Assert.Equal(VectorPrecision.Half, half.Precision);
        var halfPath = dir.Combine("half.isvs");
        await half.SaveAsync(halfPath);
        Assert.True(new FileInfo(halfPath).Length < new FileInfo(path).Length * 0.6);
        await using var single = await EmbeddedVectorStore.OpenAsync(halfPath, new EmbeddedVectorStoreOptions { Precision = VectorPrecision.Single });
        var query = rows[17];
        var exact = TestVectors.CosineF64(query, rows);
        var ids = Enumerable.Range(0, rows.Length).Select(i => $"r{i}").ToArray();
        TestVectors.AssertRanking(await single.SearchAsync(query), ids, exact, 10, 3e-3);
    }

    [Fact]
    public async Task OpenAsync_EmptyStore_RoundTrips()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("empty.isvs");
        await using (var store = EmbeddedVectorStore.Create(5, "m"))
        {
            await store.SaveAsync(path);
        }

        await using var opened = await EmbeddedVectorStore.OpenAsync(path);
        Assert.Equal(0, opened.Count);
        await opened.UpsertAsync(new VectorRecord("a", new float[] { 1, 0, 0, 0, 0 }));
        Assert.Single(await opened.SearchAsync(new float[] { 1, 1, 0, 0, 0 }));
    }

    [Fact]
    public async Task OpenAsync_TruncatedFiles_AreRejectedWithTheFileName()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var bytes = await SavedIndexBytesAsync(dir);
        var path = dir.Combine("truncated.isvs");
        var random = new Random(5);
        var lengths = new[] { 0, 1, 7, 8, 100, 127, 128, 129, 4096, bytes.Length - 1 }
            .Concat(Enumerable.Range(0, 10).Select(_ => random.Next(bytes.Length)));
        foreach (var length in lengths)
        {
            await File.WriteAllBytesAsync(path, bytes.AsSpan(0, length).ToArray());
            var ex = await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenAsync(path));
            Assert.Equal(path, ex.FilePath);
            Assert.Contains(path, ex.Message, StringComparison.Ordinal);
            Assert.Equal(length, new FileInfo(path).Length);
        }
    }

    [Fact]
    public async Task OpenAsync_BitFlipAnywhere_IsRejected()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var bytes = await SavedIndexBytesAsync(dir);
        var path = dir.Combine("flipped.isvs");
        var random = new Random(6);

        // Every header byte, then random positions in the metadata, the padding and the vectors.
        var positions = Enumerable.Range(0, IndexFileFormat.HeaderSize).Concat(Enumerable.Range(0, 200).Select(_ => random.Next(bytes.Length)));
        foreach (var position in positions)
        {
            var corrupt = (byte[])bytes.Clone();
            corrupt[position] ^= (byte)(1 << random.Next(8));
            await File.WriteAllBytesAsync(path, corrupt);
            if (position >= IndexFileFormat.HeaderSize && IsPadding(bytes, position))
            {
                // Padding between the sections carries no data; a flip there is harmless but must not break opening.
                await using var ok = await EmbeddedVectorStore.OpenAsync(path);
                continue;
            }

            var ex = await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenAsync(path));
            Assert.Contains("flipped.isvs", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task OpenAsync_ForeignAndFutureFiles_GiveClearErrors()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("foreign.bin");
        await File.WriteAllTextAsync(path, "{\"this\": \"is json, not an index\"}" + new string(' ', 500));
        var foreign = await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenAsync(path));
        Assert.Contains("not an ImageSimilarity vector index", foreign.Message, StringComparison.Ordinal);

        var bytes = await SavedIndexBytesAsync(dir);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), 2);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(120), System.IO.Hashing.XxHash3.HashToUInt64(bytes.AsSpan(0, 120)));
        await File.WriteAllBytesAsync(path, bytes);
        var future = await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenAsync(path));
        Assert.Contains("version 2", future.Message, StringComparison.Ordinal);

        await Assert.ThrowsAsync<FileNotFoundException>(() => EmbeddedVectorStore.OpenAsync(dir.Combine("missing.isvs")));
    }

    [Fact]
    public async Task SaveAsync_OverExistingIndex_ReplacesIt()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("index.isvs");
        await using var store = EmbeddedVectorStore.Create(3, "m");
        await store.UpsertAsync(new VectorRecord("a", new float[] { 1, 0, 0 }));
        await store.SaveAsync(path);
        await store.UpsertAsync(new VectorRecord("b", new float[] { 0, 1, 0 }));
        await store.SaveAsync(path);
        await using var opened = await EmbeddedVectorStore.OpenAsync(path);
        Assert.Equal(2, opened.Count);
    }

    [Fact]
    public async Task SaveAsync_WhileWritersRun_SavesAConsistentSnapshot()
    {
        using var dir = TestPaths.CreateTempDirectory();
        await using var store = EmbeddedVectorStore.Create(Dimension, "m");
        var random = new Random(11);
        using var stop = new CancellationTokenSource();

        // Each batch upserts a pair; a batch under 256 records is applied atomically, so a save holds both or neither.
        var writer = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var v = TestVectors.Random(random, Dimension);
                await store.UpsertAsync([new VectorRecord($"a{i}", v), new VectorRecord($"b{i}", v)]);
            }
        });

        for (var save = 0; save < 5; save++)
        {
            var path = dir.Combine($"snapshot{save}.isvs");
            await store.SaveAsync(path);
            await using var opened = await EmbeddedVectorStore.OpenAsync(path);
            var ids = opened.GetIds().ToHashSet();
            Assert.Equal(0, ids.Count % 2);
            foreach (var id in ids.Where(id => id[0] == 'a'))
            {
                Assert.Contains("b" + id[1..], ids);
            }
        }

        await stop.CancelAsync();
        await writer;
    }

    [Fact]
    public async Task SaveAsync_Cancelled_LeavesTheOldFileAndNoTemporaryFile()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("index.isvs");
        await using var store = EmbeddedVectorStore.Create(Dimension, "m");
        await store.UpsertAsync(new VectorRecord("a", TestVectors.Random(1, 1, Dimension)[0]));
        await store.SaveAsync(path);
        var before = await File.ReadAllBytesAsync(path);
        await store.UpsertAsync(new VectorRecord("b", TestVectors.Random(2, 1, Dimension)[0]));
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.SaveAsync(path, cts.Token));
        Assert.Equal(before, await File.ReadAllBytesAsync(path));
        Assert.False(File.Exists(path + ".tmp"));
    }

    private static bool IsPadding(byte[] bytes, int position)
    {
        var metaLength = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(40));
        var vectorOffset = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(48));
        return position >= IndexFileFormat.HeaderSize + metaLength && position < vectorOffset;
    }

    private static async Task<byte[]> SavedIndexBytesAsync(TempDirectory dir)
    {
        var path = dir.Combine($"good-{Guid.NewGuid():N}.isvs");
        await using var store = EmbeddedVectorStore.Create(Dimension, "m");
        var rows = TestVectors.Random(8, 300, Dimension);
        await store.UpsertAsync(rows.Select((r, i) => new VectorRecord($"r{i}", r, new Dictionary<string, string> { ["k"] = "v" })));
        store.Properties["preset"] = "keras";
        await store.SaveAsync(path);
        return await File.ReadAllBytesAsync(path);
    }
}
