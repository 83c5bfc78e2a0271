namespace ImageSimilarity.Storage;

/// <summary>Two-stage search: binary codes scanned by Hamming distance, then an exact re-rank of the candidates.</summary>
public sealed partial class EmbeddedVectorStore
{
    // From this many rows the code scan is split over the cores (below it, starting workers costs more).
    private const int ParallelCodeRows = 32_768;

    // Stage one of a large store runs in two passes: the code prefixes of every row (BinaryCodes.HeadWords, 512 bits by
    // default, a spread sample of the dimensions) keep the PrefilterFactor x candidates nearest rows (at least
    // PrefilterMinimum), whose whole codes then pick the candidates. Stores of fewer than PrefilterStoreFactor times that many rows are scanned
    // in one pass over the whole codes.
    private const int PrefilterMinimum = 4096;
    private const int PrefilterFactor = 16;
    private const int PrefilterStoreFactor = 4;

    /// <summary>Gets a value indicating whether the store holds binary codes, so that searches with <see cref="VectorSearchOptions.Candidates"/> run in two stages.</summary>
    public bool HasBinaryCodes => _blocks.Codes is not null;

    /// <summary>Gets the bytes of memory held by the binary codes (0 without them).</summary>
    public long BinaryCodeMemoryBytes => _blocks.Codes?.AllocatedBytes ?? 0;

    /// <summary>
    /// Gets the candidate count of two-stage search used when <see cref="VectorSearchOptions.Candidates"/> is
    /// <see langword="null"/> (set by <see cref="EnableTwoStageAsync"/> and kept in the index file), or
    /// <see langword="null"/> when searches are exact by default.
    /// </summary>
    public int? TwoStageCandidates => Volatile.Read(ref _twoStageCandidates) is var c and > 0 ? c : null;

    /// <summary>
    /// Builds (or rebuilds) a binary code per vector for two-stage search: one bit per dimension, set when the value is
    /// above that dimension's median over the stored vectors (at most 32,768 of them, spread evenly over the store).
    /// </summary>
    /// <param name="cancellationToken">Cancels the operation; the store and its file keep their previous codes (or none).</param>
    /// <returns>A task that completes when the codes are built and, for a store bound to an index file, committed to it.</returns>
    /// <remarks>
    /// <para>
    /// The codes take <c>dimension / 8</c> bytes per vector in memory (512 at 4096 dimensions). A store bound to an
    /// index file writes the medians and every record's code to it in one transaction, so opening the index reads
    /// them (nothing is re-encoded), and other processes that have it open load the new codes at their next search.
    /// Records added later get codes from the same medians (rebuild after the collection changed a lot).
    /// </para>
    /// <para>
    /// Searches go on while the codes are built (from the vectors in memory, or read from the file when they stay
    /// there); the new codes replace the old at the end. Writers of this process, and of other processes on the same
    /// file, wait until the build is committed. Exact search stays the default unless two-stage search is enabled
    /// for the index (<see cref="EnableTwoStageAsync"/>) or a search asks for <see cref="VectorSearchOptions.Candidates"/>.
    /// </para>
    /// </remarks>
    /// <exception cref="IOException">The index file cannot be written; nothing changes.</exception>
    /// <exception cref="UnauthorizedAccessException">The store is bound to a read-only index file; nothing changes.</exception>
    /// <exception cref="IndexFileException">A vector read from the file is damaged (the message names the record); nothing changes.</exception>
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
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_index is not { } index)
            {
                // In memory only: built under the read lock (writers wait, searches run), swapped under the write lock.
                BinaryCodes built;
                EnterRead();
                try
                {
                    built = BuildCodes(null, cancellationToken);
                }
                finally
                {
                    _lock.ExitReadLock();
                }

                SwapCodes(built);
                return;
            }

            // The write transaction holds other processes' writers off, and the database gate this process's:
            // the rows stay as they are while the codes are built, without holding searches up.
            BinaryCodes codes = null!;
            var text = string.Empty;
            WriteTransaction(index, () =>
            {
                codes = BuildCodes(index, cancellationToken);
                text = BinaryCodes.FormatMedians(codes.Medians);
                index.NextSeq(DateTimeOffset.UtcNow);
                index.SetBinaryMedians(text);
                index.EnsureCodesTable();
                index.ClearCodes();
                index.EnsureHeadIndex();
                var bytes = new byte[codes.CodeBytes];
                for (var slot = 0; slot < _slotCount; slot++)
                {
                    if (_ids[slot] is null)
                    {
                        continue;
                    }

                    if ((slot & 4095) == 0)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                    }

                    codes.ReadBytes(slot, bytes);
                    index.WriteCodeForRecord(_rowids[slot], bytes);
                }

                return true;
            });
            _seenSeq = index.ChangeSeq;
            SwapCodes(codes);
            _mediansText = text;
        }
        finally
        {
            _dbGate.Release();
        }
    }

    /// <summary>
    /// Makes searches of this index two-stage by default: builds the binary codes when there are none
    /// (<see cref="BuildBinaryCodesAsync"/>), then records <paramref name="candidates"/> as the default candidate count
    /// (<see cref="TwoStageCandidates"/>), in the index file for a store bound to one (other processes and later opens
    /// use it too). A search can still ask for another count (<see cref="VectorSearchOptions.Candidates"/>) or for an
    /// exact search (<see cref="VectorSearchOptions.Exact"/>).
    /// </summary>
    /// <remarks>
    /// An index file written by an earlier version also gets the covering index <c>records_head</c> (everything but the
    /// vectors), which an open with <see cref="EmbeddedVectorStoreOptions.VectorsInMemory"/> = false reads instead of
    /// the table: making it reads the table once.
    /// </remarks>
    /// <param name="candidates">How many candidates stage one keeps for the exact re-rank (a few hundred: see docs/storage.md).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the setting is committed.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="candidates"/> is zero or negative.</exception>
    /// <exception cref="IOException">The index file cannot be written; the setting is unchanged.</exception>
    /// <exception cref="UnauthorizedAccessException">The store is bound to a read-only index file; nothing changes.</exception>
    public async Task EnableTwoStageAsync(int candidates, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(candidates);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_index is { } bound)
        {
            ThrowIfReadOnly(bound);
        }

        Refresh(cancellationToken);
        if (_blocks.Codes is null)
        {
            await BuildBinaryCodesAsync(cancellationToken).ConfigureAwait(false);
        }

        await SetTwoStageAsync(candidates, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Makes searches of this index exact by default again (removes <see cref="TwoStageCandidates"/>, from the index
    /// file too). The binary codes stay: a search can still ask for <see cref="VectorSearchOptions.Candidates"/>.
    /// </summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the setting is committed.</returns>
    /// <exception cref="IOException">The index file cannot be written; the setting is unchanged.</exception>
    /// <exception cref="UnauthorizedAccessException">The store is bound to a read-only index file; nothing changes.</exception>
    public Task DisableTwoStageAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_index is { } bound)
        {
            ThrowIfReadOnly(bound);
        }

        return SetTwoStageAsync(null, cancellationToken);
    }

    private async Task SetTwoStageAsync(int? candidates, CancellationToken cancellationToken)
    {
        await _dbGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_index is { } index)
            {
                WriteTransaction(index, () =>
                {
                    index.NextSeq(DateTimeOffset.UtcNow);
                    index.SetTwoStageCandidates(candidates);
                    if (candidates is not null)
                    {
                        // Files written before it existed get the covering index that an open with the vectors left
                        // in the file reads (one pass over the table, once).
                        index.EnsureHeadIndex();
                    }

                    return true;
                });
                _seenSeq = index.ChangeSeq;
            }

            Volatile.Write(ref _twoStageCandidates, candidates ?? 0);
        }
        finally
        {
            _dbGate.Release();
        }
    }

    /// <summary>Gets or sets the code words of the prefix pass for codes built from now on (tests use short prefixes on small data).</summary>
    internal int CodePrefixWords { get; set; } = BinaryCodes.DefaultPrefixWords;

    /// <summary>Gets a copy of a record's binary code (for tests), or <see langword="null"/>.</summary>
    internal ulong[]? CodeOf(string id)
    {
        EnterRead();
        try
        {
            return _blocks.Codes is { } codes && _slotById.TryGetValue(id, out var slot) ? codes.Row(slot) : null;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    private void SwapCodes(BinaryCodes codes)
    {
        EnterWrite();
        try
        {
            // Rows added since the build started (an in-memory store's writers wait, so none) would need room.
            codes.EnsureCapacity(_blocks.Capacity);
            _blocks.Codes = codes;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>
    /// Computes the medians and every live row's code into a new <see cref="BinaryCodes"/>, reading the vectors from
    /// memory, or from <paramref name="index"/> when they stay in the file. The caller keeps the rows from changing
    /// (the read lock, or the database gate and a write transaction).
    /// </summary>
    private BinaryCodes BuildCodes(SqliteIndex? index, CancellationToken cancellationToken)
    {
        var live = new List<int>(_slotById.Count);
        for (var slot = 0; slot < _slotCount; slot++)
        {
            if (_ids[slot] is not null)
            {
                live.Add(slot);
            }
        }

        var fromFile = !_blocks.HoldsRows;
        var bytes = fromFile ? new byte[index!.RowBytes] : [];
        var sample = Math.Min(live.Count, BinaryCodes.MaxMedianSample);
        var medians = BinaryCodes.ComputeMedians(
            sample,
            Dimension,
            (i, row) =>
            {
                var slot = live[(int)((long)i * live.Count / sample)];
                if (!fromFile)
                {
                    _blocks.Read(slot, row);
                }
                else if (index!.TryReadVector(_rowids[slot], _ids[slot]!, bytes))
                {
                    DecodeRow(bytes, index.Precision, row);
                }
                else
                {
                    throw new IndexFileException(index.Path, $"the record '{_ids[slot]}' cannot be read in the transaction that builds the codes (the file is damaged).");
                }
            },
            cancellationToken);
        var codes = new BinaryCodes(medians, CodePrefixWords);
        codes.EnsureCapacity(_blocks.Capacity);
        var values = new float[Dimension];
        if (!fromFile)
        {
            for (var i = 0; i < live.Count; i++)
            {
                if ((i & 4095) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                _blocks.Read(live[i], values);
                codes.Write(live[i], values);
            }

            return codes;
        }

        // Every vector streamed from the file once, in rowid order.
        var precision = index!.Precision;
        index.ReadRecords(
            -1,
            long.MinValue,
            long.MaxValue,
            vectors: true,
            (in RecordRow row) => bytes,
            (in RecordRow row, ReadOnlySpan<byte> vector) =>
            {
                if (_slotById.TryGetValue(row.Id, out var slot))
                {
                    DecodeRow(vector, precision, values);
                    codes.Write(slot, values);
                }
            },
            cancellationToken);
        return codes;
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

    /// <summary>Recomputes one row's code from its vector in memory (rows copied in as bytes bypass <see cref="VectorBlocks.Write"/>).</summary>
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
    /// The two-stage search of several queries: stage one scans the codes once for all of them (the rows nearest each
    /// query by Hamming distance, ties: earlier row first; filters and exclusions applied here), stage two re-ranks
    /// each query's candidates by their stored vectors (from memory, or read from the file). Caller holds the read lock.
    /// </summary>
    private IReadOnlyList<VectorSearchResult>[] SearchTwoStage(BinaryCodes codes, float[][] units, VectorSearchOptions options, int top, int candidates, CancellationToken cancellationToken)
    {
        var scan = new Scan(this, units, options, top);
        var queryCodes = new ulong[units.Length][];
        for (var q = 0; q < units.Length; q++)
        {
            queryCodes[q] = new ulong[codes.Words];
            codes.Encode(units[q], queryCodes[q]);
        }

        // Stage 1: negative distances in a heap of the best candidates per query; large stores split the rows over
        // the cores (per-thread heaps merged; ties still go to the earlier row, so the result does not depend on threading).
        var capacity = Math.Max(candidates, top);
        var prefilter = (int)Math.Min(int.MaxValue / 2, Math.Max(PrefilterMinimum, (long)capacity * PrefilterFactor));
        var prefix = codes.TailWords > 0 && _slotById.Count >= (long)prefilter * PrefilterStoreFactor;
        var firstCapacity = prefix ? prefilter : capacity;
        var near = NewCodeHeaps(units.Length, firstCapacity);
        var rows = _slotCount;
        var dop = _maxDegreeOfParallelism == -1 ? Environment.ProcessorCount : _maxDegreeOfParallelism;
        if (dop <= 1 || rows < ParallelCodeRows)
        {
            ScanCodes(codes, queryCodes, prefix, scan, 0, rows, near, cancellationToken);
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
                () => NewCodeHeaps(units.Length, firstCapacity),
                (chunk, _, local) =>
                {
                    var start = chunk * chunkRows;
                    ScanCodes(codes, queryCodes, prefix, scan, start, Math.Min(rows, start + chunkRows), local, cancellationToken);
                    return local;
                },
                local =>
                {
                    lock (gate)
                    {
                        for (var q = 0; q < local.Length; q++)
                        {
                            local[q].MergeInto(near[q]);
                        }
                    }
                });
        }

        if (prefix)
        {
            // The prefiltered rows by their whole codes (filters were applied in the first pass).
            for (var q = 0; q < units.Length; q++)
            {
                var whole = new TopKHeap(capacity, float.NegativeInfinity);
                foreach (var (_, slot) in near[q].ToSortedArray())
                {
                    var score = -(float)codes.Distance(slot, queryCodes[q]);
                    if (score >= whole.Threshold)
                    {
                        whole.Push(score, slot);
                    }
                }

                near[q] = whole;
            }
        }

        // Stage 2: the stored vectors of the candidates only.
        var results = new IReadOnlyList<VectorSearchResult>[units.Length];
        for (var q = 0; q < units.Length; q++)
        {
            var best = new TopKHeap(top, options.MinSimilarity ?? float.NegativeInfinity);
            var found = near[q].ToSortedArray();
            if (_blocks.HoldsRows)
            {
                var row = new float[Dimension];
                foreach (var (_, slot) in found)
                {
                    _blocks.Read(slot, row);
                    var score = VectorKernels.Dot(row, units[q]);
                    if (score >= best.Threshold)
                    {
                        best.Push(score, slot);
                    }
                }
            }
            else
            {
                RerankFromFile(found, units[q], best, cancellationToken);
            }

            results[q] = ToResults(best);
        }

        return results;
    }

    private static TopKHeap[] NewCodeHeaps(int queries, int capacity)
    {
        var heaps = new TopKHeap[queries];
        for (var q = 0; q < queries; q++)
        {
            heaps[q] = new TopKHeap(capacity, float.NegativeInfinity);
        }

        return heaps;
    }

    /// <summary>
    /// Pushes rows [start, end) by negative Hamming distance to each query's code into that query's heap: the distance
    /// of the code prefixes only with <paramref name="prefix"/>, else of the whole codes.
    /// </summary>
    private static void ScanCodes(BinaryCodes codes, ulong[][] queryCodes, bool prefix, Scan scan, int start, int end, TopKHeap[] heaps, CancellationToken cancellationToken)
    {
        if (queryCodes.Length == 1)
        {
            var code = queryCodes[0];
            var heap = heaps[0];
            for (var slot = start; slot < end; slot++)
            {
                if (((slot - start) & 0xFFFF) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                var score = -(float)(prefix ? codes.HeadDistance(slot, code) : codes.Distance(slot, code));
                if (score >= heap.Threshold && scan.Accept(slot))
                {
                    heap.Push(score, slot);
                }
            }

            return;
        }

        // Several queries: each row's code is read from memory once for all of them.
        for (var slot = start; slot < end; slot++)
        {
            if (((slot - start) & 0xFFFF) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var accepted = 0; // 0 unknown, 1 yes, -1 no
            for (var q = 0; q < queryCodes.Length; q++)
            {
                var score = -(float)(prefix ? codes.HeadDistance(slot, queryCodes[q]) : codes.Distance(slot, queryCodes[q]));
                var heap = heaps[q];
                if (score < heap.Threshold)
                {
                    continue;
                }

                if (accepted == 0)
                {
                    accepted = scan.Accept(slot) ? 1 : -1;
                }

                if (accepted > 0)
                {
                    heap.Push(score, slot);
                }
            }
        }
    }
}
