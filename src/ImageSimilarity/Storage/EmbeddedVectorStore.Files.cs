using System.Runtime.CompilerServices;

namespace ImageSimilarity.Storage;

public sealed partial class EmbeddedVectorStore : IPersistentVectorStore
{
    private string? _filePath;

    /// <summary>
    /// Gets the index file this store is bound to (opened from it with <see cref="OpenAsync"/> or
    /// <see cref="OpenOrCreateAsync"/>): every upsert and delete is committed to it. <see langword="null"/> for a store
    /// that lives only in memory (made with <see cref="Create"/>, or read from an old single-file index).
    /// </summary>
    public string? FilePath => Volatile.Read(ref _filePath);

    /// <summary>
    /// Opens the index file at <paramref name="path"/>, or creates it when it does not exist yet. The store is bound
    /// to the file: every <see cref="UpsertAsync(IEnumerable{VectorRecord}, CancellationToken)"/> and
    /// <see cref="DeleteAsync"/> commits one transaction and is durable when it returns, and changes other processes
    /// commit to the same file are picked up before each search.
    /// </summary>
    /// <param name="path">The index file (an SQLite database). Its folder is created when missing.</param>
    /// <param name="dimension">The vector length of a new store; an existing file must have it too.</param>
    /// <param name="modelId">The model identifier of a new store; an existing file must have it too.</param>
    /// <param name="options">The options of a new store (an existing file keeps its precision on disk; a different precision here converts in memory).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The store.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> or <paramref name="modelId"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is zero, negative or above 65,536.</exception>
    /// <exception cref="IndexFileException">The file exists but is not a valid index.</exception>
    /// <exception cref="ModelMismatchException">The file holds vectors of another dimension or model.</exception>
    /// <remarks>
    /// An old single-file index (format 1, <c>.isvs</c>) at <paramref name="path"/> is upgraded in place: it is
    /// converted to <c>path.upgrade</c>, renamed to <c>path.v1-backup</c> (kept; delete it yourself), and the
    /// converted file takes its name. An upgrade stopped at any moment leaves the old file or the complete new one.
    /// </remarks>
    public static Task<EmbeddedVectorStore> OpenOrCreateAsync(string path, int dimension, string modelId, EmbeddedVectorStoreOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(dimension, SqliteIndex.MaxDimension);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelId);
        var fullPath = Path.GetFullPath(path);
        return Task.Run(() => OpenOrCreate(fullPath, dimension, modelId, options, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Makes everything durable: for a store bound to an index file, writes the changed <see cref="Properties"/>
    /// (records are committed by every upsert and delete already) and checkpoints SQLite's write-ahead log into the
    /// database file. A store that lives only in memory has nothing to save, and this does nothing.
    /// </summary>
    /// <param name="cancellationToken">Cancels the save.</param>
    /// <returns>A task that completes when the changes are durable.</returns>
    /// <exception cref="IOException">The properties cannot be written (for example the disk is full); the index keeps its last committed state.</exception>
    public Task SaveChangesAsync(CancellationToken cancellationToken = default)
        => _index is { } index ? SaveBoundAsync(index, cancellationToken) : Task.CompletedTask;

    /// <inheritdoc/>
    public async IAsyncEnumerable<VectorRecord> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Refresh(cancellationToken);
        List<VectorRecord> snapshot;
        EnterRead();
        try
        {
            snapshot = new List<VectorRecord>(_slotById.Count);
            for (var i = 0; i < _slotCount; i++)
            {
                if (_ids[i] is { } id)
                {
                    snapshot.Add(new VectorRecord(id, ReadOnlyMemory<float>.Empty, ReadOnlyMetadata(_metadata[i])));
                }
            }
        }
        finally
        {
            _lock.ExitReadLock();
        }

        foreach (var record in snapshot)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return record;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    private void RememberFile(string fullPath) => Volatile.Write(ref _filePath, fullPath);

    private static EmbeddedVectorStore OpenOrCreate(string path, int dimension, string modelId, EmbeddedVectorStoreOptions? options, CancellationToken cancellationToken)
    {
        FinishInterruptedUpgrade(path);
        if (!File.Exists(path))
        {
            CreateFile(path, dimension, modelId, options);
        }
        else if (Sniff(path) == FileKind.Legacy)
        {
            Upgrade(path, cancellationToken);
        }

        var store = OpenSqlite(path, options, cancellationToken);
        try
        {
            ModelMismatchException.ThrowIfIncompatible(store.ModelId, store.Dimension, modelId, dimension, path);
        }
        catch (ModelMismatchException)
        {
            store.Dispose();
            throw;
        }

        return store;
    }

    /// <summary>Creates an empty index under a temporary name and moves it into place, so two processes creating the same index both end up with one.</summary>
    private static void CreateFile(string path, int dimension, string modelId, EmbeddedVectorStoreOptions? options)
    {
        var directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            var now = DateTimeOffset.UtcNow;
            using (var index = SqliteIndex.Create(temp, dimension, modelId, (options ?? EmbeddedVectorStoreOptions.Default).Precision, now, now, [], bulk: true))
            {
                index.FinishBulk();
            }

            using (var stream = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
            {
                stream.Flush(flushToDisk: true);
            }

            try
            {
                File.Move(temp, path, overwrite: false);
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another process created it first: use theirs.
            }
        }
        catch (Microsoft.Data.Sqlite.SqliteException ex)
        {
            throw WriteFailed(path, ex);
        }
        finally
        {
            DeleteDatabaseFiles(temp);
        }
    }

    private static string UpgradeTemp(string path) => path + ".upgrade";

    private static string UpgradeBackup(string path) => path + ".v1-backup";

    /// <summary>Converts an old single-file index at <paramref name="path"/> to the SQLite format in place, keeping the old file as a backup.</summary>
    private static void Upgrade(string path, CancellationToken cancellationToken)
    {
        var temp = UpgradeTemp(path);
        var backup = UpgradeBackup(path);
        if (File.Exists(backup))
        {
            throw new IOException($"Cannot upgrade the old index '{path}': the backup name '{backup}' is taken. Move that file away and try again.");
        }

        DeleteDatabaseFiles(temp);
        var old = OpenLegacy(path, null, cancellationToken);
        try
        {
            old.EnterRead();
            try
            {
                old.WriteCopy(temp, cancellationToken);
            }
            finally
            {
                old._lock.ExitReadLock();
            }
        }
        catch (Microsoft.Data.Sqlite.SqliteException ex)
        {
            DeleteDatabaseFiles(temp);
            throw WriteFailed(temp, ex);
        }
        catch
        {
            DeleteDatabaseFiles(temp);
            throw;
        }

        // The complete new file exists before the old one moves: a stop between the two renames is finished by the next open.
        File.Move(path, backup);
        File.Move(temp, path);
    }

    private static void FinishInterruptedUpgrade(string path)
    {
        var temp = UpgradeTemp(path);
        if (!File.Exists(path) && File.Exists(temp) && File.Exists(UpgradeBackup(path)))
        {
            File.Move(temp, path);
        }
    }
}
