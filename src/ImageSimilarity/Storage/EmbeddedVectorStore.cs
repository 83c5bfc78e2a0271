using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.ObjectModel;

namespace ImageSimilarity.Storage;

/// <summary>
/// The default <see cref="IVectorStore"/>: every vector in memory, exact cosine search at memory speed, and
/// persistence to an SQLite index file (<see cref="OpenOrCreateAsync"/>) that commits every change and that several
/// processes can share. For large stores: two-stage search over binary codes (<see cref="EnableTwoStageAsync"/>) and
/// vectors left in the index file (<see cref="EmbeddedVectorStoreOptions.VectorsInMemory"/>).
/// </summary>
/// <remarks>
/// <para>
/// Vectors are normalised once when they are stored and kept in large contiguous blocks, so a search is one
/// sequential pass of dot products (<see cref="System.Numerics.Tensors.TensorPrimitives"/>) spread over the cores,
/// with a bounded heap per thread for the top results. <see cref="VectorPrecision.Half"/> halves the memory and
/// roughly halves the search time.
/// </para>
/// <para>
/// Thread-safety: all members are safe to call from several threads at once. Searches run side by side and each
/// sees a consistent state (no half-applied upsert batch chunk); writers wait for running searches and searches wait
/// for a running write. Saving blocks writers (not searches) while the file is written.
/// </para>
/// <para>
/// Searches run on the calling thread (plus thread-pool threads for large stores) and complete synchronously.
/// </para>
/// <para>
/// Bound to an index file, each upsert or delete call is one SQLite transaction, durable when it returns; while it
/// runs, searches in this process may already see its records. Before a search, a store bound to a file checks
/// whether another process committed (one <c>PRAGMA data_version</c>) and loads only the changed rows.
/// </para>
/// <para>
/// Metadata in results (<see cref="GetAsync"/>, <see cref="ListAsync"/>, searches) is read-only: the store's data cannot
/// be changed through it. Disposing closes the index file: records are committed already, but changed
/// <see cref="Properties"/> are written only by the next write or <see cref="SaveChangesAsync"/>, so call it first.
/// </para>
/// </remarks>
public sealed partial class EmbeddedVectorStore : IVectorStore, IDisposable
{
    // Records are validated and normalised outside the lock, then written under it this many at a time,
    // so a big upsert never holds searches up for long.
    private const int UpsertChunk = 256;

    private static readonly IReadOnlyDictionary<string, string> NoMetadata = ReadOnlyDictionary<string, string>.Empty;

    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly VectorBlocks _blocks;
    private readonly Dictionary<string, int> _slotById = new(StringComparer.Ordinal);
    private readonly Stack<int> _freeSlots = new();
    private readonly ConcurrentDictionary<string, string> _properties = new(StringComparer.Ordinal);
    private readonly int _maxDegreeOfParallelism;
    private string?[] _ids = [];
    private IReadOnlyDictionary<string, string>[] _metadata = [];

    // The rowid of each slot's record in the index file (a store bound to one): how vectors kept only in the file
    // (VectorsInMemory = false) and the binary codes are found there.
    private long[] _rowids = [];
    private int _slotCount;
    private long _updatedTicks;
    private bool _disposed;
    private float[]? _convertRow;

    private EmbeddedVectorStore(int dimension, string modelId, EmbeddedVectorStoreOptions options, DateTimeOffset created, DateTimeOffset updated)
    {
        Dimension = dimension;
        ModelId = modelId;
        Precision = options.Precision;
        _maxDegreeOfParallelism = options.MaxDegreeOfParallelism;
        _blocks = new VectorBlocks(dimension, options.Precision, options.VectorsInMemory);
        CreatedUtc = created;
        _updatedTicks = updated.UtcTicks;
    }

    /// <inheritdoc/>
    public int Dimension { get; }

    /// <inheritdoc/>
    public string ModelId { get; }

    /// <summary>Gets how the vectors are kept in memory and on disk.</summary>
    public VectorPrecision Precision { get; }

    /// <summary>Gets the number of records.</summary>
    public long Count
    {
        get
        {
            EnterRead();
            try
            {
                return _slotById.Count;
            }
            finally
            {
                _lock.ExitReadLock();
            }
        }
    }

    /// <summary>Gets when the store was first created (kept in the index file).</summary>
    public DateTimeOffset CreatedUtc { get; }

    /// <summary>Gets when a record was last upserted or deleted (kept in the index file).</summary>
    public DateTimeOffset UpdatedUtc => new(Interlocked.Read(ref _updatedTicks), TimeSpan.Zero);

    /// <summary>
    /// Gets free-form string properties saved with the index, for example the preprocessing preset or the precision
    /// of extraction. Safe to change from several threads; a store bound to an index file writes them with its next
    /// upsert, delete or <see cref="SaveChangesAsync"/>.
    /// </summary>
    public IDictionary<string, string> Properties => _properties;

    /// <summary>
    /// Gets a value indicating whether the vectors are held in memory (<see cref="EmbeddedVectorStoreOptions.VectorsInMemory"/>);
    /// <see langword="false"/>: they are read from the index file when needed.
    /// </summary>
    public bool VectorsInMemory => _blocks.HoldsRows;

    /// <summary>
    /// Gets the bytes of memory held by the vector blocks (the rest of the store is ids, metadata and the binary codes,
    /// <see cref="BinaryCodeMemoryBytes"/>); 0 when the vectors stay in the index file.
    /// </summary>
    public long VectorMemoryBytes
    {
        get
        {
            EnterRead();
            try
            {
                return _blocks.AllocatedBytes;
            }
            finally
            {
                _lock.ExitReadLock();
            }
        }
    }

    /// <summary>Gets the vector blocks, for benchmarks that stream the same bytes a search reads.</summary>
    internal VectorBlocks Blocks => _blocks;

    /// <summary>Creates an empty store.</summary>
    /// <param name="dimension">The vector length (4096 for VGG16 fc2).</param>
    /// <param name="modelId">The model whose vectors the store holds (see <see cref="Extraction.IFeatureExtractor.ModelId"/>).</param>
    /// <param name="options">The options; <see langword="null"/> for <see cref="EmbeddedVectorStoreOptions.Default"/>.</param>
    /// <returns>The store.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is zero, negative or above 65,536.</exception>
    /// <exception cref="ArgumentException"><paramref name="modelId"/> is empty or blank.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="modelId"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><see cref="EmbeddedVectorStoreOptions.VectorsInMemory"/> is <see langword="false"/> (that needs an index file).</exception>
    public static EmbeddedVectorStore Create(int dimension, string modelId, EmbeddedVectorStoreOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(dimension, SqliteIndex.MaxDimension);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelId);
        ThrowIfVectorsNeedAFile(options);
        var now = DateTimeOffset.UtcNow;
        return new EmbeddedVectorStore(dimension, modelId, options ?? EmbeddedVectorStoreOptions.Default, now, now);
    }

    /// <inheritdoc/>
    public Task<long> CountAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Refresh(cancellationToken);
        return Task.FromResult(Count);
    }

    /// <summary>Inserts a record or replaces the one with the same id.</summary>
    /// <param name="record">The record.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the record is stored (committed to the index file, for a store bound to one).</returns>
    /// <exception cref="ArgumentException">The vector has the wrong length, a NaN/infinite value, or is all zero.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="record"/> is <see langword="null"/>.</exception>
    /// <exception cref="IOException">The index file cannot be written (for example the disk is full); nothing of this call is stored.</exception>
    /// <exception cref="UnauthorizedAccessException">The store is bound to a read-only index file.</exception>
    public Task UpsertAsync(VectorRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        return UpsertAsync([record], cancellationToken);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// For a store bound to an index file, the call is one transaction, durable when the task completes; its cost
    /// grows with the number of records, not with the store. Cancelled after some records, it commits those and throws.
    /// A failed write (disk full) stores nothing of the call and leaves memory as the file is.
    /// </remarks>
    /// <exception cref="IOException">The index file cannot be written (for example the disk is full); nothing of this call is stored.</exception>
    /// <exception cref="UnauthorizedAccessException">The store is bound to a read-only index file.</exception>
    public Task UpsertAsync(IEnumerable<VectorRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_index is { } index)
        {
            return UpsertDurableAsync(index, records, cancellationToken);
        }

        var dim = Dimension;
        var buffer = ArrayPool<float>.Shared.Rent(UpsertChunk * dim);
        var pending = new VectorRecord[UpsertChunk];
        try
        {
            var n = 0;
            foreach (var record in records)
            {
                if (record is null)
                {
                    throw new ArgumentException("The records contain null.", nameof(records));
                }

                VectorMath.Normalize(record.Vector.Span, buffer.AsSpan(n * dim, dim), dim, $"The vector of '{record.Id}'", nameof(records));
                pending[n++] = record;
                if (n == UpsertChunk)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    WriteChunk(pending, buffer, n);
                    n = 0;
                }
            }

            if (n > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                WriteChunk(pending, buffer, n);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<VectorRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        cancellationToken.ThrowIfCancellationRequested();
        Refresh(cancellationToken);
        EnterRead();
        try
        {
            if (!_slotById.TryGetValue(id, out var slot))
            {
                return Task.FromResult<VectorRecord?>(null);
            }

            var vector = new float[Dimension];
            if (_blocks.HoldsRows)
            {
                _blocks.Read(slot, vector);
            }
            else if (!ReadFromFile(slot, vector))
            {
                // Deleted by another process since the last refresh.
                return Task.FromResult<VectorRecord?>(null);
            }

            return Task.FromResult<VectorRecord?>(new VectorRecord(id, vector, ReadOnlyMetadata(_metadata[slot])));
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <inheritdoc/>
    /// <remarks>For a store bound to an index file, the delete is committed when the task completes.</remarks>
    /// <exception cref="IOException">The index file cannot be written; the record stays.</exception>
    /// <exception cref="UnauthorizedAccessException">The store is bound to a read-only index file.</exception>
    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_index is { } index)
        {
            return DeleteDurableAsync(index, id, cancellationToken);
        }

        EnterWrite();
        try
        {
            if (!RemoveFromMemory(id))
            {
                return Task.FromResult(false);
            }

            Touch();
            return Task.FromResult(true);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Gets the ids of all records, in storage order (a snapshot).</summary>
    /// <returns>The ids.</returns>
    public IReadOnlyList<string> GetIds()
    {
        Refresh(CancellationToken.None);
        EnterRead();
        try
        {
            var ids = new List<string>(_slotById.Count);
            for (var i = 0; i < _slotCount; i++)
            {
                if (_ids[i] is { } id)
                {
                    ids.Add(id);
                }
            }

            return ids;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Releases the store (waits for running searches and writes) and closes its index file.</summary>
    /// <returns>A completed task.</returns>
    /// <remarks>SQLite checkpoints its write-ahead log into the file when the last connection closes.</remarks>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Releases the store (waits for running searches and writes) and closes its index file.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _dbGate.Wait();
        try
        {
            if (_disposed)
            {
                return;
            }

            EnterWrite();
            _disposed = true;
            _lock.ExitWriteLock();
            DisposeReaders();
            _index?.Dispose();
            _index = null;
        }
        finally
        {
            _dbGate.Release();
        }
    }

    /// <summary>A read-only view of stored metadata, so callers cannot change the store's data by casting.</summary>
    internal static IReadOnlyDictionary<string, string> ReadOnlyMetadata(IReadOnlyDictionary<string, string> metadata) => metadata switch
    {
        ReadOnlyDictionary<string, string> already => already,
        JsonMetadata lazy => lazy.Parsed,
        { Count: 0 } => NoMetadata,
        IDictionary<string, string> dictionary => new ReadOnlyDictionary<string, string>(dictionary),
        _ => new ReadOnlyDictionary<string, string>(metadata.ToDictionary(StringComparer.Ordinal)),
    };

    private static IReadOnlyDictionary<string, string> CopyMetadata(IReadOnlyDictionary<string, string> metadata)
        => metadata.Count == 0 ? NoMetadata : new ReadOnlyDictionary<string, string>(new Dictionary<string, string>(metadata, StringComparer.Ordinal));

    /// <summary>
    /// Stores records in memory under the write lock. For a store bound to an index file, <paramref name="rowids"/> are
    /// the records' rowids and <paramref name="codes"/> (when the store has binary codes) their codes, made from the
    /// rows as stored in the file.
    /// </summary>
    private void WriteChunk(VectorRecord[] pending, float[] buffer, int n, long[]? rowids = null, ulong[]? codes = null)
    {
        var dim = Dimension;
        var metadata = new IReadOnlyDictionary<string, string>[n];
        for (var i = 0; i < n; i++)
        {
            metadata[i] = CopyMetadata(pending[i].Metadata);
        }

        EnterWrite();
        try
        {
            for (var i = 0; i < n; i++)
            {
                var id = pending[i].Id;
                if (!_slotById.TryGetValue(id, out var slot))
                {
                    slot = _freeSlots.Count > 0 ? _freeSlots.Pop() : NewSlot();
                    _slotById.Add(id, slot);
                    _ids[slot] = id;
                }

                if (_blocks.HoldsRows)
                {
                    _blocks.Write(slot, buffer.AsSpan(i * dim, dim));
                }

                if (codes is not null && _blocks.Codes is { } binary)
                {
                    binary.WriteWords(slot, codes.AsSpan(i * binary.Words, binary.Words));
                }

                if (rowids is not null)
                {
                    _rowids[slot] = rowids[i];
                }

                _metadata[slot] = metadata[i];
            }

            Touch();
        }
        finally
        {
            _lock.ExitWriteLock();
        }

        Array.Clear(pending, 0, n);
    }

    private int NewSlot()
    {
        var slot = _slotCount;
        if (slot == int.MaxValue)
        {
            throw new InvalidOperationException("The store is full (2^31 - 1 records).");
        }

        _blocks.EnsureCapacity(slot + 1L);
        if (_ids.Length <= slot)
        {
            var size = (int)Math.Min(Array.MaxLength, Math.Max(16L, _ids.Length * 2L));
            Array.Resize(ref _ids, size);
            Array.Resize(ref _metadata, size);
            Array.Resize(ref _rowids, size);
        }

        _slotCount++;
        return slot;
    }

    private static void ThrowIfVectorsNeedAFile(EmbeddedVectorStoreOptions? options)
    {
        if (options is { VectorsInMemory: false })
        {
            throw new ArgumentException("VectorsInMemory = false keeps the vectors in an index file only: open the store with OpenOrCreateAsync or OpenAsync on an SQLite index file instead.", nameof(options));
        }
    }

    private void Touch() => Interlocked.Exchange(ref _updatedTicks, DateTime.UtcNow.Ticks);

    private void EnterRead()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _lock.EnterReadLock();
        if (_disposed)
        {
            _lock.ExitReadLock();
            ObjectDisposedException.ThrowIf(true, this);
        }
    }

    private void EnterWrite()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _lock.EnterWriteLock();
        if (_disposed)
        {
            _lock.ExitWriteLock();
            ObjectDisposedException.ThrowIf(true, this);
        }
    }
}
