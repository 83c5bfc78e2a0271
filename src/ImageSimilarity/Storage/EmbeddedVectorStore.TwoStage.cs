using Microsoft.Data.Sqlite;

namespace ImageSimilarity.Storage;

/// <summary>Two-stage search: binary codes scanned by Hamming distance, then an exact re-rank of the candidates.</summary>
public sealed partial class EmbeddedVectorStore
{
    // From this many rows the code scan is split over the cores (below it, starting workers costs more).
    private const int ParallelCodeRows = 32_768;

    /// <summary>Gets a value indicating whether the store holds binary codes, so that searches with <see cref="VectorSearchOptions.Candidates"/> run in two stages.</summary>
    public bool HasBinaryCodes => _blocks.Codes is not null;

    /// <summary>Gets the bytes of memory held by the binary codes (0 without them).</summary>
    public long BinaryCodeMemoryBytes => _blocks.Codes?.AllocatedBytes ?? 0;

    /// <summary>
    /// Builds (or rebuilds) a binary code per vector for two-stage search: one bit per dimension, set when the value is
    /// above that dimension's median over the stored vectors (at most 32,768 of them, spread evenly over the store).
    /// </summary>
    /// <param name="cancellationToken">Cancels the operation; the store keeps its previous codes (or none).</param>
    /// <returns>A task that completes when the codes are built and, for a store bound to an index file, the medians are committed to it.</returns>
    /// <remarks>
    /// <para>
    /// The codes take <c>dimension / 8</c> bytes per vector in memory (512 at 4096 dimensions) besides the vectors.
    /// The medians are kept in the index file, so the codes are rebuilt from them when the index is opened; records
    /// added later get codes from the same medians (rebuild after the collection changed a lot). Another process
    /// that has the index open sees the codes only after it opens the index again.
    /// </para>
    /// <para>
    /// Searches wait while the codes are built (one pass over a sample of the vectors, then one over all of them).
    /// Exact search stays the default: pass <see cref="VectorSearchOptions.Candidates"/> to search in two stages.
    /// </para>
    /// </remarks>
    /// <exception cref="IOException">The index file cannot be written; the codes are built in memory but not recorded.</exception>
    /// <exception cref="UnauthorizedAccessException">The store is bound to a read-only index file; nothing changes.</exception>
    public async Task BuildBinaryCodesAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_index is { } bound)
        {
            ThrowIfReadOnly(bound);
        }

        Refresh(cancellationToken);
        await _dbGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            float[] medians;
            EnterWrite();
            try
            {
                medians = ComputeMedians(cancellationToken);
                var codes = new BinaryCodes(medians);
                codes.EnsureCapacity(_blocks.Capacity);
                _blocks.Codes = codes;
                RebuildCodes();
            }
            finally
            {
                _lock.ExitWriteLock();
            }

            if (_index is { } index)
            {
                try
                {
                    index.Begin(write: true);
                    index.SetBinaryMedians(BinaryCodes.FormatMedians(medians));
                    index.Commit();
                }
                catch (SqliteException ex)
                {
                    index.TryRollback();
                    throw WriteFailed(index.Path, ex);
                }
            }
        }
        finally
        {
            _dbGate.Release();
        }
    }

    /// <summary>The medians of every dimension over (a sample of) the live rows. Caller holds the lock.</summary>
    private float[] ComputeMedians(CancellationToken cancellationToken)
    {
        var live = new List<int>(_slotById.Count);
        for (var slot = 0; slot < _slotCount; slot++)
        {
            if (_ids[slot] is not null)
            {
                live.Add(slot);
            }
        }

        var sample = Math.Min(live.Count, BinaryCodes.MaxMedianSample);
        return BinaryCodes.ComputeMedians(
            sample,
            Dimension,
            (i, row) => _blocks.Read(live[(int)((long)i * live.Count / sample)], row),
            cancellationToken);
    }

    /// <summary>Recomputes every live row's code from its stored vector. Caller holds the write lock (or owns the store).</summary>
    private void RebuildCodes()
    {
        if (_blocks.Codes is null)
        {
            return;
        }

        for (var slot = 0; slot < _slotCount; slot++)
        {
            if (_ids[slot] is not null)
            {
                UpdateCode(slot);
            }
        }
    }

    /// <summary>Recomputes one row's code from its stored vector (rows copied in as bytes bypass <see cref="VectorBlocks.Write"/>).</summary>
    private void UpdateCode(int slot)
    {
        if (_blocks.Codes is not { } codes)
        {
            return;
        }

        var row = _convertRow ??= new float[Dimension];
        _blocks.Read(slot, row);
        codes.Write(slot, row);
    }

    /// <summary>
    /// The two-stage search of one query: the <paramref name="candidates"/> rows nearest by Hamming distance (ties:
    /// earlier row first; filters and exclusions applied here), re-ranked by their stored vectors. Caller holds the read lock.
    /// </summary>
    private VectorSearchResult[] SearchTwoStage(BinaryCodes codes, float[] unit, VectorSearchOptions options, int top, int candidates, CancellationToken cancellationToken)
    {
        var scan = new Scan(this, [unit], options, top);
        var code = new ulong[codes.Words];
        BinaryCodes.Encode(unit, codes.Medians, code);

        // Stage 1: negative distances in a heap of the best candidates; large stores split the rows over the cores
        // (per-thread heaps merged; ties still go to the earlier row, so the result does not depend on threading).
        var capacity = Math.Max(candidates, top);
        var near = new TopKHeap(capacity, float.NegativeInfinity);
        var rows = _slotCount;
        var dop = _maxDegreeOfParallelism == -1 ? Environment.ProcessorCount : _maxDegreeOfParallelism;
        if (dop <= 1 || rows < ParallelCodeRows)
        {
            ScanCodes(codes, code, scan, 0, rows, near, cancellationToken);
        }
        else
        {
            var gate = new object();
            var chunkRows = (int)Math.Max(ParallelCodeRows / 4, (rows + (dop * 4L) - 1) / (dop * 4L));
            var chunks = (rows + chunkRows - 1) / chunkRows;
            Parallel.For(
                0,
                chunks,
                new ParallelOptions { MaxDegreeOfParallelism = dop, CancellationToken = cancellationToken },
                () => new TopKHeap(capacity, float.NegativeInfinity),
                (chunk, _, local) =>
                {
                    var start = chunk * chunkRows;
                    ScanCodes(codes, code, scan, start, Math.Min(rows, start + chunkRows), local, cancellationToken);
                    return local;
                },
                local =>
                {
                    lock (gate)
                    {
                        local.MergeInto(near);
                    }
                });
        }

        // Stage 2: the stored vectors of the candidates only.
        var best = new TopKHeap(top, options.MinSimilarity ?? float.NegativeInfinity);
        var row = new float[Dimension];
        foreach (var (_, slot) in near.ToSortedArray())
        {
            _blocks.Read(slot, row);
            var score = VectorKernels.Dot(row, unit);
            if (score >= best.Threshold)
            {
                best.Push(score, slot);
            }
        }

        var sorted = best.ToSortedArray();
        var list = new VectorSearchResult[sorted.Length];
        for (var i = 0; i < sorted.Length; i++)
        {
            var slot = sorted[i].Slot;
            list[i] = new VectorSearchResult(_ids[slot]!, Math.Clamp(sorted[i].Score, -1f, 1f), ReadOnlyMetadata(_metadata[slot]));
        }

        return list;
    }

    /// <summary>Pushes rows [start, end) by negative Hamming distance to <paramref name="code"/> into <paramref name="heap"/>.</summary>
    private void ScanCodes(BinaryCodes codes, ulong[] code, Scan scan, int start, int end, TopKHeap heap, CancellationToken cancellationToken)
    {
        for (var slot = start; slot < end; slot++)
        {
            if (((slot - start) & 0xFFFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var score = -(float)BinaryCodes.Hamming(codes.Row(slot), code);
            if (score >= heap.Threshold && scan.Accept(slot))
            {
                heap.Push(score, slot);
            }
        }
    }
}
