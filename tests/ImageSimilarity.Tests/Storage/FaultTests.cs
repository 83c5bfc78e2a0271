using ImageSimilarity.TestSupport;

namespace ImageSimilarity.Storage;

/// <summary>Disk full and read-only media, on a real small tmpfs (root and mount permission needed; CI has both).</summary>
[Collection(MultiProcessCollection.Name)]
public sealed class FaultTests
{
    private const int Dimension = 256;

    [SkippableFact]
    public async Task UpsertAsync_DiskFull_KeepsThePreviousCommittedStateAndSaysSo()
    {
        using var mount = Mount("2m");
        var path = Path.Combine(mount.Path, "index.db");
        var ballast = Path.Combine(mount.Path, "ballast");
        await File.WriteAllBytesAsync(ballast, new byte[256 * 1024]);
        var committed = 0;
        IOException? failure = null;
        await using (var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, Dimension, "m"))
        {
            for (var batch = 0; batch < 200 && failure is null; batch++)
            {
                var rows = TestVectors.Random(batch, 40, Dimension).Select((r, i) => new VectorRecord($"b{batch}-{i}", r)).ToList();
                try
                {
                    await store.UpsertAsync(rows);
                    committed += rows.Count;
                }
                catch (IOException ex)
                {
                    failure = ex;
                }
            }

            Assert.NotNull(failure);
            Assert.Contains("disk is full", failure.Message, StringComparison.Ordinal);
            Assert.Contains(path, failure.Message, StringComparison.Ordinal);

            // The failed batch left nothing in memory either, and the store still answers.
            Assert.Equal(committed, store.Count);
            Assert.Equal(committed, (await store.SearchAsync(TestVectors.Random(1, 1, Dimension)[0], new VectorSearchOptions { Top = 100_000 })).Count);
        }

        // Free some space, as a user would, and open again: exactly the committed batches are there, intact.
        File.Delete(ballast);
        await using var reopened = await EmbeddedVectorStore.OpenAsync(path);
        Assert.Equal(committed, reopened.Count);
        var last = (committed / 40) - 1;
        var expected = TestVectors.Random(last, 40, Dimension);
        var hit = (await reopened.SearchAsync(expected[39]))[0];
        Assert.Equal($"b{last}-39", hit.Id);
        Assert.True(hit.Similarity > 0.9999f);
        await reopened.UpsertAsync(new VectorRecord("after", expected[0]));
        Assert.Equal(committed + 1, reopened.Count);
    }

    [SkippableFact]
    public async Task OpenAsync_ReadOnlyMount_CanBeSearchedButNotChanged()
    {
        using var mount = Mount("8m");
        var path = Path.Combine(mount.Path, "index.db");
        var rows = TestVectors.Random(3, 100, Dimension);
        await using (var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, Dimension, "m"))
        {
            await store.UpsertAsync(rows.Select((r, i) => new VectorRecord($"r{i}", r)));
        }

        Assert.False(File.Exists(path + "-wal"));
        mount.RemountReadOnly();
        await using var readOnly = await EmbeddedVectorStore.OpenAsync(path);
        Assert.True(readOnly.IsReadOnly);
        Assert.Equal(100, readOnly.Count);
        Assert.Equal("r42", (await readOnly.SearchAsync(rows[42]))[0].Id);
        var ex = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => readOnly.UpsertAsync(new VectorRecord("x", rows[0])));
        Assert.Contains("read-only", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => readOnly.DeleteAsync("r1"));
        await readOnly.SaveChangesAsync();
        Assert.Equal(100, (await EmbeddedVectorStore.ReadInfoAsync(path)).Count);
        await using var viaOpenOrCreate = await EmbeddedVectorStore.OpenOrCreateAsync(path, Dimension, "m");
        Assert.True(viaOpenOrCreate.IsReadOnly);
    }

    private static TmpfsMount Mount(string size)
    {
        var mount = TmpfsMount.TryCreate(size, out var reason);
        if (mount is null)
        {
            // CI runs as root where mounting works: there a refusal is a failure, not a skip.
            Assert.False(TestPaths.IsCi, reason);
            Skip.If(true, reason);
        }

        return mount!;
    }
}
