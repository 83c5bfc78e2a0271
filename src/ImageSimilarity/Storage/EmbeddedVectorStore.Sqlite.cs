using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace ImageSimilarity.Storage;

/// <summary>The store bound to an SQLite index file: write-through commits and catching up with other processes.</summary>
public sealed partial class EmbeddedVectorStore
{
    // Serialises every use of the database connection in this process (SQLite connections are single-threaded).
    private readonly SemaphoreSlim _dbGate = new(1, 1);
    private SqliteIndex? _index;
    private long _seenSeq;
    private long _seenDataVersion = -1;
    private string? _mediansText;
    private int _twoStageCandidates;
    private readonly System.Collections.Concurrent.ConcurrentBag<SqliteIndex> _readers = [];
    private Dictionary<string, string> _persistedProperties = new(StringComparer.Ordinal);

    /// <summary>
    /// Gets a value indicating whether the store is bound to an index file it cannot change (a read-only file, folder
    /// or mount): searches work, writes throw <see cref="UnauthorizedAccessException"/>.
    /// </summary>
    public bool IsReadOnly => _index?.IsReadOnly ?? false;

    private static EmbeddedVectorStore OpenSqlite(string path, EmbeddedVectorStoreOptions? options, CancellationToken cancellationToken)
    {
        var index = SqliteIndex.Open(path, allowWrite: true);
        try
        {
            var store = Load(index, options, cancellationToken);
            store._index = index;
            store.RememberFile(path);
            return store;
        }
        catch (SqliteException ex)
        {
            index.Dispose();
            throw SqliteIndex.Corrupt(path, ex);
        }
        catch (Exception ex) when (ex is InvalidOperationException or InvalidCastException or FormatException)
        {
            // A NULL or a value of the wrong type where the schema promises another (found by the fuzz tests: a
            // flipped byte in a record header turns its id into NULL) is a damaged file, not a bug of the caller.
            index.Dispose();
            throw new IndexFileException(path, $"a record has a missing or malformed column ({ex.Message}). Restore the index from a backup or rebuild it.", ex);
        }
        catch
        {
            index.Dispose();
            throw;
        }
    }

    /// <summary>Reads the whole index into a new store, in one read transaction (a consistent snapshot).</summary>
    private static EmbeddedVectorStore Load(SqliteIndex index, EmbeddedVectorStoreOptions? options, CancellationToken cancellationToken)
    {
        var version = index.DataVersion();
        EmbeddedVectorStore store;
        var uncoded = new List<(int Slot, long Checksum)>();
        index.Begin(write: false);
        try
        {
            index.ReadHeader();
            var count = index.CountRecords();
            if (count > int.MaxValue)
            {
                throw new IndexFileException(index.Path, $"it holds {count} records, more than a store can hold.");
            }

            // Vectors kept in the file are read in the file's precision.
            var effective = options switch
            {
                null => new EmbeddedVectorStoreOptions { Precision = index.Precision },
                { VectorsInMemory: false } => new EmbeddedVectorStoreOptions { Precision = index.Precision, MaxDegreeOfParallelism = options.MaxDegreeOfParallelism, VectorsInMemory = false },
                _ => options,
            };
            store = new EmbeddedVectorStore(index.Dimension, index.ModelId, effective, index.CreatedUtc, index.UpdatedUtc);
            store._twoStageCandidates = index.TwoStageCandidates ?? 0;
            store._mediansText = index.BinaryMedians;

            // The codes are read from the binary_codes table; rows without a current one are coded from their vector
            // below. Malformed medians are ignored: the index opens without codes (exact search) and
            // BuildBinaryCodesAsync writes them again.
            if (index.BinaryMedians is { } text && BinaryCodes.ParseMedians(text, index.Dimension) is { } medians)
            {
                store._blocks.Codes = new BinaryCodes(medians);
            }

            store._blocks.EnsureCapacity(count);
            store._ids = new string?[Math.Max(16, count)];
            store._metadata = new IReadOnlyDictionary<string, string>[store._ids.Length];
            store._rowids = new long[store._ids.Length];
            if (!store._blocks.HoldsRows && index.HasHeadIndex)
            {
                store.LoadHeads(index, (int)count, uncoded, cancellationToken);
            }
            else if (!store._blocks.HoldsRows || !store.TryLoadInParallel(index, (int)count, uncoded, cancellationToken))
            {
                store.LoadRows(index, -1, direct: true, uncoded, cancellationToken);
            }

            store.EncodeMissing(index, uncoded);
            store._persistedProperties = index.ReadUserProperties();
            foreach (var (key, value) in store._persistedProperties)
            {
                store._properties[key] = value;
            }

            store._seenSeq = index.ChangeSeq;
            store._seenDataVersion = version;
            index.Commit();
        }
        catch
        {
            index.TryRollback();
            throw;
        }

        if (uncoded.Count > 0)
        {
            store.TryStoreCodes(index, uncoded);
        }

        return store;
    }

    /// <summary>
    /// The open of a store whose vectors stay in the file: every record without its vector, from the covering index
    /// <c>records_head</c> (id order), each put in the slot of its rank by rowid, so the slots are in the same order as
    /// when the table is read (results that tie are then ordered alike).
    /// </summary>
    private void LoadHeads(SqliteIndex index, int count, List<(int Slot, long Checksum)> uncoded, CancellationToken cancellationToken)
    {
        var order = index.ReadRowids(count);
        var codes = _blocks.Codes;
        index.ReadRecords(
            -1,
            long.MinValue,
            long.MaxValue,
            vectors: false,
            null,
            (in RecordRow row, ReadOnlySpan<byte> _) =>
            {
                var slot = Array.BinarySearch(order, row.Rowid);
                if (slot < 0 || _ids[slot] is not null || !_slotById.TryAdd(row.Id, slot))
                {
                    throw new IndexFileException(index.Path, $"the record '{row.Id}' is listed twice or not at all by the file's indexes (they are damaged). Run `REINDEX records;` in the sqlite3 shell or rebuild the index.");
                }

                _ids[slot] = row.Id;
                _metadata[slot] = row.Metadata;
                _rowids[slot] = row.Rowid;
                if (codes is null)
                {
                    return;
                }

                if (row.Code.IsEmpty)
                {
                    uncoded.Add((slot, row.Checksum));
                }
                else
                {
                    codes.WriteBytes(slot, row.Code);
                }
            },
            cancellationToken);
        if (_slotById.Count != count)
        {
            throw new IndexFileException(index.Path, "its covering index lists fewer records than the table holds (it is damaged). Run `REINDEX records;` in the sqlite3 shell or rebuild the index.");
        }

        _slotCount = count;
    }

    /// <summary>
    /// Codes the rows read without a current code (none in the file, one of the wrong length, or one made from an
    /// older vector), from the vector in memory or, when the vectors stay in the file, from the file. Inside the read
    /// transaction of the open.
    /// </summary>
    /// <exception cref="IndexFileException">A row's vector is damaged (the message names the file and the record).</exception>
    private void EncodeMissing(SqliteIndex index, List<(int Slot, long Checksum)> uncoded)
    {
        if (_blocks.Codes is not { } codes || uncoded.Count == 0)
        {
            return;
        }

        var bytes = new byte[index.RowBytes];
        var row = _convertRow ??= new float[Dimension];
        foreach (var (slot, _) in uncoded)
        {
            if (_blocks.HoldsRows)
            {
                UpdateCode(slot);
                continue;
            }

            if (!index.TryReadVector(_rowids[slot], _ids[slot]!, bytes))
            {
                throw new IndexFileException(index.Path, $"the record '{_ids[slot]}' has no binary code and its vector cannot be read in the same read transaction (the file is damaged). Rebuild the codes (BuildBinaryCodesAsync) or the index.");
            }

            DecodeRow(bytes, index.Precision, row);
            codes.Write(slot, row);
        }
    }

    /// <summary>
    /// Writes the codes the open had to make into the file, so the next open reads them (best effort: skipped when
    /// the file is read-only, another process is writing, or the medians changed meanwhile).
    /// </summary>
    private void TryStoreCodes(SqliteIndex index, List<(int Slot, long Checksum)> uncoded)
    {
        if (_blocks.Codes is not { } codes || index.IsReadOnly)
        {
            return;
        }

        try
        {
            if (!index.TryBeginWriteNow())
            {
                return;
            }

            index.ReadHeader();
            if (index.BinaryMedians != _mediansText)
            {
                index.TryRollback();
                return;
            }

            index.EnsureCodesTable();
            var bytes = new byte[codes.CodeBytes];
            foreach (var (slot, checksum) in uncoded)
            {
                codes.ReadBytes(slot, bytes);

                // Keyed by the checksum read with the row: if the record changed since, the code is not taken for it.
                index.WriteCode(_rowids[slot], checksum, bytes);
            }

            index.Commit();
        }
        catch (SqliteException)
        {
            index.TryRollback();
        }
    }

    /// <summary>
    /// Loads a large index on two connections at once, each reading half of the rows (by rowid) straight into its own
    /// range of slots; the open is CPU-bound (SQLite assembling each row's pages, the checksum, the copy), so on two
    /// cores it takes about half the time. Both connections must see the same committed state: when a writer
    /// committed between their two read transactions (another change seq or count), this returns
    /// <see langword="false"/> before anything was read and the caller loads on one connection.
    /// </summary>
    private bool TryLoadInParallel(SqliteIndex index, int count, List<(int Slot, long Checksum)> uncoded, CancellationToken cancellationToken)
    {
        const int MinimumRows = 4096;
        var dop = _maxDegreeOfParallelism == -1 ? Environment.ProcessorCount : _maxDegreeOfParallelism;
        if (count < MinimumRows || dop < 2 || index.Precision != Precision)
        {
            return false;
        }

        var firstCount = count / 2;
        var split = index.RowidAt(firstCount);
        using var second = index.OpenReader();
        second.Begin(write: false);
        try
        {
            second.ReadHeader();
            if (second.ChangeSeq != index.ChangeSeq || second.CountRecords() != count || second.RowidAt(firstCount) != split)
            {
                return false;
            }

            var secondHalf = Task.Factory.StartNew(
                () => LoadSlotRange(second, split, long.MaxValue, firstCount, count - firstCount, cancellationToken),
                cancellationToken,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
            try
            {
                uncoded.AddRange(LoadSlotRange(index, long.MinValue, split, 0, firstCount, cancellationToken));
            }
            finally
            {
                // Never leave the other thread reading while the connections are closed; its error (if any) comes
                // second to this thread's.
                ((IAsyncResult)secondHalf).AsyncWaitHandle.WaitOne();
            }

            uncoded.AddRange(secondHalf.GetAwaiter().GetResult());
        }
        finally
        {
            second.TryRollback();
        }

        for (var slot = 0; slot < count; slot++)
        {
            if (!_slotById.TryAdd(_ids[slot]!, slot))
            {
                throw new IndexFileException(index.Path, $"the record id '{_ids[slot]}' is stored twice (its UNIQUE index is damaged). Run `REINDEX records;` in the sqlite3 shell or rebuild the index.");
            }
        }

        _slotCount = count;
        return true;
    }

    /// <summary>
    /// Reads the rows with <paramref name="fromRowid"/> &lt;= rowid &lt; <paramref name="toRowid"/> into slots
    /// <paramref name="firstSlot"/> onwards; returns the slots that have no current code in the file.
    /// </summary>
    private List<(int Slot, long Checksum)> LoadSlotRange(SqliteIndex index, long fromRowid, long toRowid, int firstSlot, int expected, CancellationToken cancellationToken)
    {
        var slot = firstSlot;
        var end = firstSlot + expected;
        var rowsPerBlock = _blocks.RowsPerBlock;
        var codes = _blocks.Codes;
        var uncoded = new List<(int Slot, long Checksum)>();
        index.ReadRecords(
            -1,
            fromRowid,
            toRowid,
            vectors: true,
            (in RecordRow row) => slot < end
                ? _blocks.RowBytes(slot / rowsPerBlock, slot % rowsPerBlock, 1)
                : throw new IndexFileException(index.Path, "it holds more records than it counted in the same read transaction (the file is damaged). Restore it from a backup or rebuild the index."),
            (in RecordRow row, ReadOnlySpan<byte> bytes) =>
            {
                _ids[slot] = row.Id;
                _metadata[slot] = row.Metadata;
                _rowids[slot] = row.Rowid;
                if (codes is not null)
                {
                    if (row.Code.IsEmpty)
                    {
                        uncoded.Add((slot, row.Checksum));
                    }
                    else
                    {
                        codes.WriteBytes(slot, row.Code);
                    }
                }

                slot++;
            },
            cancellationToken);
        if (slot != end)
        {
            throw new IndexFileException(index.Path, "it holds fewer records than it counted in the same read transaction (the file is damaged). Restore it from a backup or rebuild the index.");
        }

        return uncoded;
    }

    /// <summary>
    /// Picks up what other processes committed since this store last looked (cheap when nothing changed: one
    /// <c>PRAGMA data_version</c>). Skipped while this process is writing (its write catches up first anyway).
    /// </summary>
    private void Refresh(CancellationToken cancellationToken)
    {
        if (_index is not { } index || !_dbGate.Wait(0))
        {
            return;
        }

        try
        {
            var version = index.DataVersion();
            if (version == _seenDataVersion)
            {
                return;
            }

            index.Begin(write: false);
            try
            {
                CatchUp(index, cancellationToken);
                index.Commit();
            }
            catch
            {
                index.TryRollback();
                throw;
            }

            _seenDataVersion = version;
        }
        catch (SqliteException ex)
        {
            throw SqliteIndex.Corrupt(index.Path, ex);
        }
        finally
        {
            _dbGate.Release();
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/> in one write transaction, after catching up with other processes' commits, and
    /// commits it when the body returns <see langword="true"/> (rolls it back when <see langword="false"/>). Whatever
    /// fails before the commit rolls the transaction back; an SQLite error becomes the store's <see cref="IOException"/>
    /// naming the file. The caller holds the database gate.
    /// </summary>
    /// <returns>Whether the transaction was committed.</returns>
    private bool WriteTransaction(SqliteIndex index, Func<bool> body)
    {
        var committed = false;
        try
        {
            index.Begin(write: true);
            CatchUp(index, CancellationToken.None);
            if (!body())
            {
                index.TryRollback();
                return false;
            }

            index.Commit();
            committed = true;
            return true;
        }
        catch (SqliteException ex) when (!committed)
        {
            index.TryRollback();
            throw WriteFailed(index.Path, ex);
        }
        catch when (!committed)
        {
            index.TryRollback();
            throw;
        }
    }

    /// <summary>Applies other processes' committed changes (deletions, then upserts, then properties). Inside a transaction.</summary>
    private void CatchUp(SqliteIndex index, CancellationToken cancellationToken)
    {
        index.ReadHeader();
        if (index.ChangeSeq == _seenSeq)
        {
            return;
        }

        var deleted = index.ReadDeletions(_seenSeq);
        if (deleted.Count > 0)
        {
            EnterWrite();
            try
            {
                foreach (var id in deleted)
                {
                    RemoveFromMemory(id);
                }
            }
            finally
            {
                _lock.ExitWriteLock();
            }
        }

        LoadRows(index, _seenSeq, direct: false, null, cancellationToken);
        if (index.BinaryMedians != _mediansText)
        {
            ReloadCodes(index, cancellationToken);
        }

        Volatile.Write(ref _twoStageCandidates, index.TwoStageCandidates ?? 0);
        var stored = index.ReadUserProperties();
        foreach (var (key, value) in stored)
        {
            if (!_persistedProperties.TryGetValue(key, out var old) || old != value)
            {
                _properties[key] = value;
            }
        }

        foreach (var (key, old) in _persistedProperties)
        {
            if (!stored.ContainsKey(key) && _properties.TryGetValue(key, out var mine) && mine == old)
            {
                _properties.TryRemove(key, out _);
            }
        }

        _persistedProperties = stored;
        _seenSeq = index.ChangeSeq;
        Interlocked.Exchange(ref _updatedTicks, index.UpdatedUtc.UtcTicks);
    }

    /// <summary>
    /// Reads rows from the file into memory. <paramref name="direct"/> (a store being opened, not yet shared): the
    /// vector bytes go straight into their block row when the precisions match, and rows without a current code are
    /// added to <paramref name="uncoded"/>. Otherwise (rows other processes committed, while searches run) they go
    /// through a scratch row and are stored under the write lock after their checksum passed, coded at once. A store
    /// whose vectors stay in the file reads no vector here (only to code a row that has no current code).
    /// </summary>
    private void LoadRows(SqliteIndex index, long afterSeq, bool direct, List<(int Slot, long Checksum)>? uncoded, CancellationToken cancellationToken)
    {
        var filePrecision = index.Precision;
        var scratch = new byte[index.RowBytes];
        var sameLayout = filePrecision == Precision;
        index.ReadRecords(
            afterSeq,
            long.MinValue,
            long.MaxValue,
            vectors: _blocks.HoldsRows,
            (in RecordRow row) =>
            {
                if (!direct || !sameLayout)
                {
                    return scratch;
                }

                var slot = SlotFor(row.Id);
                var block = slot / _blocks.RowsPerBlock;
                return _blocks.RowBytes(block, slot - (block * _blocks.RowsPerBlock), 1);
            },
            (in RecordRow row, ReadOnlySpan<byte> bytes) =>
            {
                if (direct)
                {
                    PutRow(index, row.Id, row.Rowid, row.Metadata, bytes, filePrecision, row.Code, inPlace: sameLayout, uncoded, row.Checksum);
                    return;
                }

                EnterWrite();
                try
                {
                    PutRow(index, row.Id, row.Rowid, row.Metadata, bytes, filePrecision, row.Code, inPlace: false, null, row.Checksum);
                }
                finally
                {
                    _lock.ExitWriteLock();
                }
            },
            cancellationToken);
    }

    /// <summary>
    /// Loads the codes of every row after another process rebuilt them (its medians differ from this store's): the new
    /// codes are read (or made, for rows without a current one) beside the old, then swapped in under the write lock.
    /// Caller holds the database gate (so nothing else changes the store's rows meanwhile).
    /// </summary>
    private void ReloadCodes(SqliteIndex index, CancellationToken cancellationToken)
    {
        var text = index.BinaryMedians;
        BinaryCodes? codes = null;
        if (text is not null && BinaryCodes.ParseMedians(text, Dimension) is { } medians)
        {
            codes = new BinaryCodes(medians, CodePrefixWords);
            codes.EnsureCapacity(_blocks.Capacity);
            var bytes = new byte[index.RowBytes];
            var values = new float[Dimension];
            index.ReadRecords(
                -1,
                long.MinValue,
                long.MaxValue,
                vectors: false,
                null,
                (in RecordRow row, ReadOnlySpan<byte> _) =>
                {
                    if (!_slotById.TryGetValue(row.Id, out var slot))
                    {
                        return;
                    }

                    if (!row.Code.IsEmpty)
                    {
                        codes.WriteBytes(slot, row.Code);
                        return;
                    }

                    if (_blocks.HoldsRows)
                    {
                        _blocks.Read(slot, values);
                    }
                    else if (index.TryReadVector(row.Rowid, row.Id, bytes))
                    {
                        DecodeRow(bytes, index.Precision, values);
                    }
                    else
                    {
                        return;
                    }

                    codes.Write(slot, values);
                },
                cancellationToken);
        }

        EnterWrite();
        try
        {
            _blocks.Codes = codes;
        }
        finally
        {
            _lock.ExitWriteLock();
        }

        _mediansText = text;
    }

    /// <summary>The slot of <paramref name="id"/>, assigning a free or new one. Caller holds the write lock (or owns the store).</summary>
    private int SlotFor(string id)
    {
        if (!_slotById.TryGetValue(id, out var slot))
        {
            slot = _freeSlots.Count > 0 ? _freeSlots.Pop() : NewSlot();
            _slotById.Add(id, slot);
            _ids[slot] = id;
        }

        return slot;
    }

    /// <summary>Upserts as one committed transaction: durable when it returns.</summary>
    private async Task UpsertDurableAsync(SqliteIndex index, IEnumerable<VectorRecord> records, CancellationToken cancellationToken)
    {
        // Validate everything first, so a bad vector fails the call before anything is written.
        var list = records as IReadOnlyList<VectorRecord> ?? [.. records];
        var dim = Dimension;
        var check = new float[dim];
        foreach (var record in list)
        {
            if (record is null)
            {
                throw new ArgumentException("The records contain null.", nameof(records));
            }

            VectorMath.Normalize(record.Vector.Span, check, dim, $"The vector of '{record.Id}'", nameof(records));
        }

        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfReadOnly(index);
        await _dbGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        var cancelled = false;
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var touched = new List<string>(list.Count);
            var committed = false;
            try
            {
                index.Begin(write: true);
                CatchUp(index, CancellationToken.None);
                var seq = index.NextSeq(DateTimeOffset.UtcNow);
                var buffer = new float[UpsertChunk * dim];
                var fileRow = new byte[index.RowBytes];
                var pending = new VectorRecord[UpsertChunk];
                var rowids = new long[UpsertChunk];

                // With binary codes, each record's code is written in the same transaction, made from the row as
                // stored in the file (so that it equals what an open would make from that row).
                var codes = _blocks.Codes;
                var codeWords = codes is null ? null : new ulong[UpsertChunk * codes.Words];
                var codeBytes = codes is null ? null : new byte[codes.CodeBytes];
                var stored = codes is null ? null : new float[dim];
                if (codes is not null)
                {
                    index.EnsureCodesTable();
                }

                for (var start = 0; start < list.Count; start += UpsertChunk)
                {
                    if (start > 0 && cancellationToken.IsCancellationRequested)
                    {
                        // Keep what is written: commit it, then report the cancellation.
                        cancelled = true;
                        break;
                    }

                    var n = Math.Min(UpsertChunk, list.Count - start);
                    for (var i = 0; i < n; i++)
                    {
                        var record = list[start + i];
                        var unit = buffer.AsSpan(i * dim, dim);
                        VectorMath.Normalize(record.Vector.Span, unit, dim, $"The vector of '{record.Id}'", nameof(records));
                        var fileBytes = ToFileBytes(unit, index.Precision, fileRow);
                        var (rowid, checksum) = index.Upsert(record.Id, seq, fileBytes, SqliteIndex.MetadataJson(record.Metadata));
                        rowids[i] = rowid;
                        if (codes is not null)
                        {
                            DecodeRow(fileBytes, index.Precision, stored);
                            var code = codeWords.AsSpan(i * codes.Words, codes.Words);
                            codes.Encode(stored, code);
                            BinaryCodes.ToBytes(code, codeBytes);
                            index.WriteCode(rowid, checksum, codeBytes);
                        }

                        pending[i] = record;
                        touched.Add(record.Id);
                    }

                    WriteChunk(pending, buffer, n, rowids, codeWords);
                }

                index.WriteUserProperties(_properties.ToArray(), _persistedProperties);
                var properties = new Dictionary<string, string>(_properties, StringComparer.Ordinal);
                index.Commit();
                committed = true;
                _seenSeq = seq;
                _persistedProperties = properties;
                Interlocked.Exchange(ref _updatedTicks, index.UpdatedUtc.UtcTicks);
            }
            catch (SqliteException ex) when (!committed)
            {
                Undo(index, touched);
                throw WriteFailed(index.Path, ex);
            }
            catch when (!committed)
            {
                Undo(index, touched);
                throw;
            }
        }
        finally
        {
            _dbGate.Release();
        }

        if (cancelled)
        {
            throw new OperationCanceledException(cancellationToken);
        }
    }

    private async Task<bool> DeleteDurableAsync(SqliteIndex index, string id, CancellationToken cancellationToken)
    {
        ThrowIfReadOnly(index);
        await _dbGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var seq = 0L;
            var deleted = WriteTransaction(index, () =>
            {
                seq = index.NextSeq(DateTimeOffset.UtcNow);
                return index.Delete(id, seq);
            });
            if (!deleted)
            {
                return false;
            }

            _seenSeq = seq;
            Interlocked.Exchange(ref _updatedTicks, index.UpdatedUtc.UtcTicks);

            EnterWrite();
            try
            {
                RemoveFromMemory(id);
            }
            finally
            {
                _lock.ExitWriteLock();
            }

            return true;
        }
        finally
        {
            _dbGate.Release();
        }
    }

    /// <summary>Writes the store properties (the only changes not committed by a write) and checkpoints the log.</summary>
    private async Task SaveBoundAsync(SqliteIndex index, CancellationToken cancellationToken)
    {
        await _dbGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var properties = new Dictionary<string, string>(_properties, StringComparer.Ordinal);
            var changed = properties.Count != _persistedProperties.Count
                || properties.Any(p => !_persistedProperties.TryGetValue(p.Key, out var v) || v != p.Value);
            if (changed && !index.IsReadOnly)
            {
                WriteTransaction(index, () =>
                {
                    index.NextSeq(DateTimeOffset.UtcNow);
                    index.WriteUserProperties(properties, _persistedProperties);
                    return true;
                });
                _seenSeq = index.ChangeSeq;
                _persistedProperties = properties;
            }

            if (!index.IsReadOnly)
            {
                index.Checkpoint();
            }
        }
        finally
        {
            _dbGate.Release();
        }
    }

    /// <summary>After a failed transaction: puts the records it touched in memory back to what the file holds.</summary>
    private void Undo(SqliteIndex index, List<string> touched)
    {
        index.TryRollback();
        if (touched.Count == 0)
        {
            return;
        }

        var bytes = new byte[index.RowBytes];
        EnterWrite();
        try
        {
            foreach (var id in touched)
            {
                if (index.TryReadRecord(id, bytes, out var metadata, out var rowid))
                {
                    PutRow(index, id, rowid, metadata, bytes, index.Precision, [], inPlace: false, null, 0);
                }
                else
                {
                    RemoveFromMemory(id);
                }
            }
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    private static ReadOnlySpan<byte> ToFileBytes(ReadOnlySpan<float> unit, VectorPrecision filePrecision, byte[] scratch)
    {
        if (filePrecision == VectorPrecision.Single)
        {
            return MemoryMarshal.AsBytes(unit);
        }

        if (filePrecision == VectorPrecision.Int8)
        {
            Int8Rows.Quantize(unit, scratch);
            return scratch;
        }

        TensorPrimitives.ConvertToHalf(unit, MemoryMarshal.Cast<byte, Half>(scratch.AsSpan()));
        return scratch;
    }

    private void ThrowIfReadOnly(SqliteIndex index)
    {
        if (index.IsReadOnly)
        {
            throw new UnauthorizedAccessException($"The index '{index.Path}' was opened read-only (the file, its folder or its mount is not writable): it can be searched but not changed.");
        }
    }

    /// <summary>
    /// Stores one row read from the file (in the file's precision) in memory: its vector (unless the vectors stay in the
    /// file, or <paramref name="inPlace"/>: the bytes were read straight into its block row), rowid, metadata and
    /// code (<paramref name="code"/> when the file had a current one; otherwise made from the vector, or listed in
    /// <paramref name="uncoded"/> to be made after the open's read). Caller holds the write lock (or owns the store).
    /// </summary>
    private void PutRow(SqliteIndex index, string id, long rowid, IReadOnlyDictionary<string, string> metadata, ReadOnlySpan<byte> bytes, VectorPrecision filePrecision, ReadOnlySpan<byte> code, bool inPlace, List<(int Slot, long Checksum)>? uncoded, long checksum)
    {
        var slot = SlotFor(id);
        if (_blocks.HoldsRows && !inPlace)
        {
            var block = slot / _blocks.RowsPerBlock;
            var target = _blocks.RowBytes(block, slot - (block * _blocks.RowsPerBlock), 1);
            var codes = _blocks.Codes;
            _blocks.Codes = null; // coded below, once
            try
            {
                if (filePrecision == Precision)
                {
                    bytes.CopyTo(target);
                }
                else if (filePrecision == VectorPrecision.Int8 || Precision == VectorPrecision.Int8)
                {
                    // Through floats: int8 rows are quantised per block of values, so no byte-level conversion exists.
                    // The scratch row is safe to share: callers hold the write lock or own the store.
                    var values = _convertRow ??= new float[Dimension];
                    DecodeRow(bytes, filePrecision, values);
                    _blocks.Write(slot, values);
                }
                else if (filePrecision == VectorPrecision.Half)
                {
                    TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(bytes), MemoryMarshal.Cast<byte, float>(target));
                }
                else
                {
                    TensorPrimitives.ConvertToHalf(MemoryMarshal.Cast<byte, float>(bytes), MemoryMarshal.Cast<byte, Half>(target));
                }
            }
            finally
            {
                _blocks.Codes = codes;
            }
        }

        _rowids[slot] = rowid;
        _metadata[slot] = metadata;
        if (_blocks.Codes is not { } binary)
        {
            return;
        }

        if (!code.IsEmpty)
        {
            binary.WriteBytes(slot, code);
        }
        else if (uncoded is not null)
        {
            uncoded.Add((slot, checksum));
        }
        else if (_blocks.HoldsRows)
        {
            UpdateCode(slot);
        }
        else
        {
            var values = _convertRow ??= new float[Dimension];
            if (bytes.IsEmpty)
            {
                var read = new byte[index.RowBytes];
                if (!index.TryReadVector(rowid, id, read))
                {
                    throw new IndexFileException(index.Path, $"the record '{id}' has no binary code and its vector cannot be read in the same read transaction (the file is damaged). Rebuild the codes (BuildBinaryCodesAsync) or the index.");
                }

                bytes = read;
            }

            DecodeRow(bytes, filePrecision, values);
            binary.Write(slot, values);
        }
    }

    /// <summary>Writes the values of one row in a file precision as floats.</summary>
    internal static void DecodeRow(ReadOnlySpan<byte> bytes, VectorPrecision precision, Span<float> values)
    {
        switch (precision)
        {
            case VectorPrecision.Int8:
                Int8Rows.Dequantize(bytes, values);
                break;
            case VectorPrecision.Half:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(bytes), values);
                break;
            default:
                MemoryMarshal.Cast<byte, float>(bytes).CopyTo(values);
                break;
        }
    }

    /// <summary>Removes a record from memory. Caller holds the write lock.</summary>
    private bool RemoveFromMemory(string id)
    {
        if (!_slotById.Remove(id, out var slot))
        {
            return false;
        }

        _ids[slot] = null;
        _metadata[slot] = NoMetadata;
        _freeSlots.Push(slot);
        return true;
    }
}
