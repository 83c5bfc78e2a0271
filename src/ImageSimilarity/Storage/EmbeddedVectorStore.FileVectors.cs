using System.Buffers;
using Microsoft.Data.Sqlite;

namespace ImageSimilarity.Storage;

/// <summary>
/// Vectors kept only in the index file (<see cref="EmbeddedVectorStoreOptions.VectorsInMemory"/> = false): read for a
/// two-stage search's candidates, streamed for an exact search, read one by one for <see cref="GetAsync"/>.
/// </summary>
/// <remarks>
/// These reads use their own read-only connections (a small pool, one per concurrent search), not the store's main
/// connection: searches never wait for this process's writers, and they read committed rows only. A row that is not
/// (yet) committed, or that another process deleted since the last refresh, is skipped.
/// </remarks>
public sealed partial class EmbeddedVectorStore
{
    private SqliteIndex RentReader()
    {
        if (_readers.TryTake(out var reader))
        {
            return reader;
        }

        var index = _index ?? throw new ObjectDisposedException(nameof(EmbeddedVectorStore));
        try
        {
            return index.OpenReader();
        }
        catch (SqliteException ex)
        {
            throw SqliteIndex.Corrupt(index.Path, ex);
        }
    }

    private void ReturnReader(SqliteIndex reader)
    {
        if (_disposed)
        {
            reader.Dispose();
            return;
        }

        _readers.Add(reader);
    }

    private void DisposeReaders()
    {
        while (_readers.TryTake(out var reader))
        {
            reader.Dispose();
        }
    }

    /// <summary>Reads one slot's vector from the file as floats; <see langword="false"/> when its row is gone. Caller holds the read lock.</summary>
    private bool ReadFromFile(int slot, Span<float> destination)
    {
        var reader = RentReader();
        var bytes = ArrayPool<byte>.Shared.Rent(reader.RowBytes);
        try
        {
            if (!reader.TryReadVector(_rowids[slot], _ids[slot]!, bytes))
            {
                return false;
            }

            DecodeRow(bytes.AsSpan(0, reader.RowBytes), reader.Precision, destination);
            return true;
        }
        catch (SqliteException ex)
        {
            throw SqliteIndex.Corrupt(reader.Path, ex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
            ReturnReader(reader);
        }
    }

    /// <summary>
    /// Stage two of a two-stage search with the vectors in the file: reads just the candidates' vectors (in rowid
    /// order, in one read transaction; each checked against its checksum) and scores them. Caller holds the read lock.
    /// </summary>
    /// <exception cref="IndexFileException">A candidate's vector is damaged (the message names the file and the record).</exception>
    private void RerankFromFile((float Score, int Slot)[] candidates, float[] unit, TopKHeap best, CancellationToken cancellationToken)
    {
        var order = new (long Rowid, int Slot)[candidates.Length];
        for (var i = 0; i < candidates.Length; i++)
        {
            order[i] = (_rowids[candidates[i].Slot], candidates[i].Slot);
        }

        Array.Sort(order);
        var reader = RentReader();
        var bytes = ArrayPool<byte>.Shared.Rent(reader.RowBytes);
        var row = ArrayPool<float>.Shared.Rent(Dimension);
        try
        {
            var vector = bytes.AsSpan(0, reader.RowBytes);
            var values = row.AsSpan(0, Dimension);
            reader.Begin(write: false);
            try
            {
                foreach (var (rowid, slot) in order)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (!reader.TryReadVector(rowid, _ids[slot]!, vector))
                    {
                        continue;
                    }

                    DecodeRow(vector, reader.Precision, values);
                    var score = VectorKernels.Dot(values, unit);
                    if (score >= best.Threshold)
                    {
                        best.Push(score, slot);
                    }
                }
            }
            finally
            {
                reader.TryRollback();
            }
        }
        catch (SqliteException ex)
        {
            throw SqliteIndex.Corrupt(reader.Path, ex);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(row);
            ArrayPool<byte>.Shared.Return(bytes);
            ReturnReader(reader);
        }
    }

    /// <summary>
    /// An exact search with the vectors in the file: streams every row once (rowid order, one read transaction) into
    /// a bounded chunk (one block, about 8 MiB) and scores each full chunk with the same kernels as a search in
    /// memory. One thread; as slow as reading the file. Caller holds the read lock.
    /// </summary>
    private TopKHeap[] ScanFile(float[][] queries, VectorSearchOptions options, int top, CancellationToken cancellationToken)
    {
        var chunk = new VectorBlocks(Dimension, Precision);
        var chunkRows = chunk.RowsPerBlock;
        chunk.EnsureCapacity(chunkRows);
        var slots = new int[chunkRows];
        var scan = new Scan(this, queries, options, top, chunk, slots);
        var heaps = scan.NewHeaps();
        var n = 0;
        var reader = RentReader();
        try
        {
            reader.Begin(write: false);
            try
            {
                reader.ReadRecords(
                    -1,
                    long.MinValue,
                    long.MaxValue,
                    vectors: true,
                    (in RecordRow row) => chunk.RowBytes(0, n, 1),
                    (in RecordRow row, ReadOnlySpan<byte> bytes) =>
                    {
                        // Rows this store does not know (committed by another process since the last refresh) are left out.
                        if (!_slotById.TryGetValue(row.Id, out var slot) || _rowids[slot] != row.Rowid)
                        {
                            return;
                        }

                        slots[n++] = slot;
                        if (n == chunkRows)
                        {
                            scan.Run(0, n, heaps);
                            n = 0;
                        }
                    },
                    cancellationToken);
            }
            finally
            {
                reader.TryRollback();
            }

            if (n > 0)
            {
                scan.Run(0, n, heaps);
            }

            return heaps;
        }
        catch (SqliteException ex)
        {
            throw SqliteIndex.Corrupt(reader.Path, ex);
        }
        finally
        {
            ReturnReader(reader);
        }
    }
}
