using ImageSimilarity.TestSupport;

namespace ImageSimilarity.Storage;

/// <summary>The old single-file format (version 1, .isvs): still read, for searching and for converting.</summary>
public sealed class LegacyIndexFileTests
{
    private const int Dimension = 37;

    [Theory]
    [InlineData(VectorPrecision.Single)]
    [InlineData(VectorPrecision.Half)]
    public async Task SaveLegacyAsync_ThenOpenAsync_RoundTripsEverything(VectorPrecision precision)
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
        await store.SaveLegacyAsync(path);
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
        await store.SaveLegacyAsync(path);

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
            await store.SaveLegacyAsync(path);
        }

        await using var half = await EmbeddedVectorStore.OpenAsync(path, new EmbeddedVectorStoreOptions { Precision = VectorPrecision.Half });
        Assert.Equal(VectorPrecision.Half, half.Precision);
        var halfPath = dir.Combine("half.isvs");
        await half.SaveLegacyAsync(halfPath);
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
            await store.SaveLegacyAsync(path);
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
        Assert.Equal(path, foreign.FilePath);

        var bytes = await SavedIndexBytesAsync(dir);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), 2);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(120), System.IO.Hashing.XxHash3.HashToUInt64(bytes.AsSpan(0, 120)));
        await File.WriteAllBytesAsync(path, bytes);
        var future = await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenAsync(path));
        Assert.Contains("version 2", future.Message, StringComparison.Ordinal);

        await Assert.ThrowsAsync<FileNotFoundException>(() => EmbeddedVectorStore.OpenAsync(dir.Combine("missing.isvs")));
    }

    [Fact]
    public async Task OpenAsync_HugeDimensionWithNoRecords_IsRefusedNotDividedByZero()
    {
        // Issue 16, item 5: valid checksums, dimension 2^30, count 0 crashed with DivideByZeroException in the block sizing.
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("huge-dimension.isvs");
        await File.WriteAllBytesAsync(path, Craft(1 << 30, VectorPrecision.Single, 0, Meta(), vectorLength: 0));
        var ex = await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenAsync(path));
        Assert.Equal(path, ex.FilePath);
        Assert.Contains("dimension", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.ReadInfoAsync(path));

        // The largest accepted dimension still opens.
        await File.WriteAllBytesAsync(path, Craft(65_536, VectorPrecision.Half, 0, Meta(), vectorLength: 0));
        await using var ok = await EmbeddedVectorStore.OpenAsync(path);
        Assert.Equal(65_536, ok.Dimension);
    }

    [Fact]
    public async Task OpenAsync_RecordClaimingInt32MaxMetadataEntries_IsRefusedWithoutAllocating()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("metadata-bomb.isvs");
        var meta = Meta(w =>
        {
            w.Write("a");
            w.Write(int.MaxValue);
        });
        await File.WriteAllBytesAsync(path, Craft(4, VectorPrecision.Single, 1, meta, vectorLength: 16));
        var ex = await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenAsync(path));
        Assert.Equal(path, ex.FilePath);
        Assert.Contains("2147483647", ex.Message, StringComparison.Ordinal);

        // A property count of 2^31 - 1, and a negative string length, fail the same way.
        await File.WriteAllBytesAsync(path, Craft(4, VectorPrecision.Single, 0, Meta(propertyCount: int.MaxValue), vectorLength: 0));
        Assert.Equal(path, (await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenAsync(path))).FilePath);
        Assert.Equal(path, (await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.ReadInfoAsync(path))).FilePath);
        var negative = Meta(w => w.Write(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x0F }));
        await File.WriteAllBytesAsync(path, Craft(4, VectorPrecision.Single, 1, negative, vectorLength: 16));
        Assert.Equal(path, (await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenAsync(path))).FilePath);
    }

    [Fact]
    public async Task OpenAsync_CountNearInt32Max_IsRefusedBeforeAllocatingForIt()
    {
        // A sparse 4 GiB file whose header claims 2^31 - 1 half-precision vectors of dimension 1 and whose metadata
        // section is a few bytes: the count is refused against the metadata size, before any array of that length.
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("count-bomb.isvs");
        var count = (long)int.MaxValue;
        var header = Craft(1, VectorPrecision.Half, count, Meta(), vectorLength: count * 2, writeVectors: false);
        await using (var stream = new FileStream(path, FileMode.Create))
        {
            await stream.WriteAsync(header);
            stream.SetLength(IndexFileFormat.AlignUp(IndexFileFormat.HeaderSize + Meta().Length) + (count * 2));
        }

        var ex = await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenAsync(path));
        Assert.Equal(path, ex.FilePath);
        Assert.Contains("records", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenOrCreateAsync_OldFile_IsUpgradedInPlaceKeepingABackup()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("index.isvs");
        var rows = TestVectors.Random(21, 300, Dimension);
        await using (var old = EmbeddedVectorStore.Create(Dimension, "m", new EmbeddedVectorStoreOptions { Precision = VectorPrecision.Half }))
        {
            await old.UpsertAsync(rows.Select((r, i) => new VectorRecord($"r{i}", r, new Dictionary<string, string> { ["path"] = $"/p/{i}.jpg" })));
            old.Properties["preset"] = "keras";
            await old.SaveLegacyAsync(path);
        }

        var oldBytes = await File.ReadAllBytesAsync(path);
        await using (var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, Dimension, "m"))
        {
            Assert.Equal(path, store.FilePath);
            Assert.Equal(300, store.Count);
            Assert.Equal(VectorPrecision.Half, store.Precision);
            Assert.Equal("keras", store.Properties["preset"]);
            Assert.Equal("/p/7.jpg", (await store.GetAsync("r7"))!.Metadata["path"]);
            await store.UpsertAsync(new VectorRecord("new", rows[0]));
        }

        Assert.Equal(oldBytes, await File.ReadAllBytesAsync(path + ".v1-backup"));
        Assert.False(File.Exists(path + ".upgrade"));
        Assert.Equal(2, (await EmbeddedVectorStore.ReadInfoAsync(path)).FormatVersion);
        await using var reopened = await EmbeddedVectorStore.OpenAsync(path);
        Assert.Equal(301, reopened.Count);
        var exact = TestVectors.CosineF64(rows[5], rows);
        var ids = Enumerable.Range(0, rows.Length).Select(i => $"r{i}").ToArray();
        await reopened.DeleteAsync("new");
        TestVectors.AssertRanking(await reopened.SearchAsync(rows[5]), ids, exact, 10, 3e-3);
    }

    [Fact]
    public async Task OpenOrCreateAsync_UpgradeStoppedBetweenTheRenames_IsFinished()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("index.isvs");
        await using (var old = EmbeddedVectorStore.Create(Dimension, "m"))
        {
            await old.UpsertAsync(TestVectors.Random(2, 10, Dimension).Select((r, i) => new VectorRecord($"r{i}", r)));
            await old.SaveLegacyAsync(path);
            await old.SaveAsync(path + ".upgrade");
        }

        // The state a stop between "old -> backup" and "upgrade -> path" leaves.
        File.Move(path, path + ".v1-backup");
        await using var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, Dimension, "m");
        Assert.Equal(10, store.Count);
        Assert.False(File.Exists(path + ".upgrade"));
    }

    private static byte[] Meta(Action<BinaryWriter>? records = null, int propertyCount = 0)
    {
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            w.Write("model");
            w.Write(0L);
            w.Write(0L);
            w.Write(propertyCount);
            records?.Invoke(w);
        }

        return stream.ToArray();
    }

    /// <summary>A version-1 file with the given header fields and valid checksums (zero vectors).</summary>
    private static byte[] Craft(int dimension, VectorPrecision precision, long count, byte[] meta, long vectorLength, bool writeVectors = true)
    {
        var vectorOffset = IndexFileFormat.AlignUp(IndexFileFormat.HeaderSize + meta.Length);
        var vectors = new byte[writeVectors ? vectorLength : 0];
        var bytes = new byte[vectorOffset + vectors.Length];
        meta.CopyTo(bytes, IndexFileFormat.HeaderSize);
        var vectorHash = writeVectors ? System.IO.Hashing.XxHash3.HashToUInt64(vectors) : 0;
        IndexFileFormat.WriteHeader(bytes.AsSpan(0, IndexFileFormat.HeaderSize), new IndexFileFormat.Header(dimension, precision, count, IndexFileFormat.HeaderSize, meta.Length, vectorOffset, vectorLength, System.IO.Hashing.XxHash3.HashToUInt64(meta), vectorHash));
        return writeVectors ? bytes : bytes[..(int)vectorOffset];
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
        await store.SaveLegacyAsync(path);
        return await File.ReadAllBytesAsync(path);
    }
}
