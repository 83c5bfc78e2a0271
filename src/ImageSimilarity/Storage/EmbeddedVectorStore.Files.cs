using System.Runtime.CompilerServices;

namespace ImageSimilarity.Storage;

public sealed partial class EmbeddedVectorStore : IPersistentVectorStore
{
    private string? _filePath;

    /// <summary>
    /// Gets the index file this store was opened from or last saved to, which <see cref="SaveChangesAsync"/> writes;
    /// <see langword="null"/> for a store that lives only in memory so far.
    /// </summary>
    public string? FilePath => Volatile.Read(ref _filePath);

    /// <summary>
    /// Opens the index file at <paramref name="path"/>, or creates an empty store bound to that path when the file does
    /// not exist yet (it is written by the first <see cref="SaveChangesAsync"/>).
    /// </summary>
    /// <param name="path">The index file.</param>
    /// <param name="dimension">The vector length of a new store; an existing file must have it too.</param>
    /// <param name="modelId">The model identifier of a new store; an existing file must have it too.</param>
    /// <param name="options">The options of a new store (an existing file keeps its precision unless these say otherwise).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The store.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> or <paramref name="modelId"/> is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is zero or negative.</exception>
    /// <exception cref="IndexFileException">The file exists but is not a valid index.</exception>
    /// <exception cref="ModelMismatchException">The file holds vectors of another dimension or model.</exception>
    public static async Task<EmbeddedVectorStore> OpenOrCreateAsync(string path, int dimension, string modelId, EmbeddedVectorStoreOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelId);
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            var created = Create(dimension, modelId, options);
            created._filePath = fullPath;
            return created;
        }

        var store = await OpenAsync(fullPath, options, cancellationToken).ConfigureAwait(false);
        try
        {
            ModelMismatchException.ThrowIfIncompatible(store.ModelId, store.Dimension, modelId, dimension, fullPath);
        }
        catch (ModelMismatchException)
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return store;
    }

    /// <summary>
    /// Saves all changes to <see cref="FilePath"/>, atomically (see <see cref="SaveAsync"/>). A store without a file
    /// (made with <see cref="Create"/> and never saved) lives in memory only, and this does nothing.
    /// </summary>
    /// <param name="cancellationToken">Cancels the save; the previous file stays intact.</param>
    /// <returns>A task that completes when the file is written and flushed.</returns>
    public Task SaveChangesAsync(CancellationToken cancellationToken = default)
        => FilePath is { } path ? SaveAsync(path, cancellationToken) : Task.CompletedTask;

    /// <inheritdoc/>
    public async IAsyncEnumerable<VectorRecord> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
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
}
