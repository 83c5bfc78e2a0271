using ImageSimilarity.TestSupport;
using Microsoft.Data.Sqlite;

namespace ImageSimilarity.Storage;

/// <summary>Index files damaged in ways the fuzz tests found: each is refused with an <see cref="IndexFileException"/> naming the file.</summary>
public sealed class HostileIndexTests : IDisposable
{
    private readonly TempDirectory _dir = TestPaths.CreateTempDirectory("imgsim-hostile-index");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task OpenAsync_RecordWhoseIdIsNull_IsAnIndexFileException()
    {
        // A flipped byte in a record header can turn a column's type into NULL; the schema's NOT NULL is only
        // enforced on write, so the test drops it (writable_schema) to store what damage would leave behind.
        var path = _dir.Combine("null-id.index");
        await using (var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, 4, "m"))
        {
            await store.UpsertAsync([new VectorRecord("a", new float[] { 1, 0, 0, 0 }), new VectorRecord("b", new float[] { 0, 1, 0, 0 })]);
            await store.SaveChangesAsync();
        }

        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA writable_schema=ON; UPDATE sqlite_schema SET sql = replace(sql, 'id TEXT NOT NULL UNIQUE', 'id TEXT UNIQUE') WHERE name = 'records';";
            command.ExecuteNonQuery();
        }

        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE records SET id = NULL WHERE id = 'a'";
            Assert.Equal(1, command.ExecuteNonQuery());
        }

        var ex = await Assert.ThrowsAsync<IndexFileException>(() => EmbeddedVectorStore.OpenAsync(path));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("malformed column", ex.Message, StringComparison.Ordinal);
    }
}
