using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ImageSimilarity.Storage;

public sealed partial class EmbeddedVectorStore
{
    // Below this many multiply-adds a search stays on the calling thread: starting workers would cost more.
    private const long ParallelThresholdOps = 1L << 21;

    // Queries scored together while a row is in the L1 cache; 32 queries of 4096 floats (512 KiB) fit in L2.
    private const int QueryTile = 32;

    /// <inheritdoc/>
    public Task<IReadOnlyList<VectorSearchResult>> SearchAsync(ReadOnlyMemory<float> query, VectorSearchOptions? options = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var unit = new float[Dimension];
        VectorMath.Normalize(query.Span, unit, Dimension, "The query vector", nameof(query));
        Refresh(cancellationToken);
        return Task.FromResult(Search([unit], options ?? VectorSearchOptions.Default, cancellationToken)[0]);
    }

    /// <summary>
    /// Finds the records most similar to each of several queries in one pass over the store, which costs clearly
    /// less per query than searching them one by one.
    /// </summary>
    /// <param name="queries">The query vectors; they need not be normalised.</param>
    /// <param name="options">How many results, threshold and filter (the same for every query); <see langword="null"/> for <see cref="VectorSearchOptions.Default"/>.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>One result list per query, in order, each by descending similarity.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="queries"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A query has the wrong length, a NaN/infinite value, or is all zero; the message gives its index.</exception>
    public Task<IReadOnlyList<IReadOnlyList<VectorSearchResult>>> SearchBatchAsync(IReadOnlyList<ReadOnlyMemory<float>> queries, VectorSearchOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        cancellationToken.ThrowIfCancellationRequested();
        options ??= VectorSearchOptions.Default;
        var units = new float[queries.Count][];
        for (var i = 0; i < units.Length; i++)
        {
            units[i] = new float[Dimension];
            VectorMath.Normalize(queries[i].Span, units[i], Dimension, $"Query {i}", nameof(queries));
        }

        Refresh(cancellationToken);

        var results = new IReadOnlyList<VectorSearchResult>[units.Length];
        for (var start = 0; start < units.Length; start += QueryTile)
        {
            var tile = units.AsSpan(start, Math.Min(QueryTile, units.Length - start)).ToArray();
            Search(tile, options, cancellationToken).CopyTo(results, start);
        }

        return Task.FromResult<IReadOnlyList<IReadOnlyList<VectorSearchResult>>>(results);
    }

    private IReadOnlyList<VectorSearchResult>[] Search(float[][] queries, VectorSearchOptions options, CancellationToken cancellationToken)
    {
        EnterRead();
        try
        {
            var live = _slotById.Count;
            var results = new IReadOnlyList<VectorSearchResult>[queries.Length];
            if (live == 0)
            {
                Array.Fill(results, Array.Empty<VectorSearchResult>());
                return results;
            }

            // Candidates given: two-stage; Exact: exact; neither: the index's default (two-stage when enabled).
            var candidates = options.Exact ? null : options.Candidates ?? TwoStageCandidates;
            if (candidates is { } count && _blocks.Codes is { } codes)
            {
                return SearchTwoStage(codes, queries, options, (int)Math.Min(options.Top, live), (int)Math.Min(count, live), cancellationToken);
            }

            var scan = new Scan(this, queries, options, (int)Math.Min(options.Top, live));
            var rows = _slotCount;
            var work = (long)rows * Dimension * queries.Length;
            var dop = _maxDegreeOfParallelism == -1 ? Environment.ProcessorCount : _maxDegreeOfParallelism;
            TopKHeap[] merged;
            if (!_blocks.HoldsRows)
            {
                merged = ScanFile(queries, options, (int)Math.Min(options.Top, live), cancellationToken);
            }
            else if (dop <= 1 || work < ParallelThresholdOps)
            {
                merged = scan.NewHeaps();
                for (var start = 0; start < rows; start += _blocks.RowsPerBlock)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    scan.Run(start, Math.Min(rows, start + _blocks.RowsPerBlock), merged);
                }
            }
            else
            {
                merged = scan.NewHeaps();
                var gate = new object();

                // Several work items per thread so an uneven split (or a busy core) does not leave one waiting.
                var chunkRows = (int)Math.Clamp((rows + (dop * 8L) - 1) / (dop * 8L), 64, _blocks.RowsPerBlock);
                var chunks = (rows + chunkRows - 1) / chunkRows;
                var parallelOptions = new ParallelOptions { MaxDegreeOfParallelism = dop, CancellationToken = cancellationToken };
                Parallel.For(
                    0,
                    chunks,
                    parallelOptions,
                    scan.NewHeaps,
                    (chunk, _, local) =>
                    {
                        var start = chunk * chunkRows;
                        scan.Run(start, Math.Min(rows, start + chunkRows), local);
                        return local;
                    },
                    local =>
                    {
                        lock (gate)
                        {
                            for (var q = 0; q < merged.Length; q++)
                            {
                                local[q].MergeInto(merged[q]);
                            }
                        }
                    });
            }

            for (var q = 0; q < queries.Length; q++)
            {
                results[q] = ToResults(merged[q]);
            }

            return results;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>A heap's rows as results, best first, with scores clamped to [-1, 1] (float rounding). Caller holds the read lock.</summary>
    private VectorSearchResult[] ToResults(TopKHeap heap)
    {
        var top = heap.ToSortedArray();
        var list = new VectorSearchResult[top.Length];
        for (var i = 0; i < top.Length; i++)
        {
            var slot = top[i].Slot;
            list[i] = new VectorSearchResult(_ids[slot]!, Math.Clamp(top[i].Score, -1f, 1f), ReadOnlyMetadata(_metadata[slot]));
        }

        return list;
    }

    /// <summary>One search over the rows of the store: queries, filter and the kernel.</summary>
    private sealed class Scan
    {
        private readonly VectorBlocks _blocks;
        private readonly string?[] _ids;
        private readonly IReadOnlyDictionary<string, string>[] _metadata;
        private readonly float[][] _queries;
        private readonly float[]? _scaledQuery;
        private readonly float[][]? _scaledQueries;
        private readonly short[][]? _int8Queries;
        private readonly float[]? _int8QueryScales;
        private readonly int _top;
        private readonly float _floor;
        private readonly IReadOnlySet<string>? _exclude;
        private readonly IReadOnlyDictionary<string, string>? _filter;
        private readonly int[]? _slots;

        /// <summary>Prepares a scan of the store's rows, or of <paramref name="blocks"/> whose row <c>i</c> is the store's slot <c>slots[i]</c>.</summary>
        public Scan(EmbeddedVectorStore store, float[][] queries, VectorSearchOptions options, int top, VectorBlocks? blocks = null, int[]? slots = null)
        {
            _blocks = blocks ?? store._blocks;
            _slots = slots;
            _ids = store._ids;
            _metadata = store._metadata;
            _queries = queries;
            _top = top;
            if (_blocks.Precision == VectorPrecision.Half)
            {
                _scaledQueries = new float[queries.Length][];
                for (var q = 0; q < queries.Length; q++)
                {
                    _scaledQueries[q] = new float[queries[q].Length];
                    VectorKernels.PrepareHalfQuery(queries[q], _scaledQueries[q]);
                }

                _scaledQuery = _scaledQueries[0];
            }
            else if (_blocks.Precision == VectorPrecision.Int8)
            {
                _int8Queries = new short[queries.Length][];
                _int8QueryScales = new float[queries.Length];
                for (var q = 0; q < queries.Length; q++)
                {
                    _int8Queries[q] = new short[queries[q].Length];
                    _int8QueryScales[q] = Int8Rows.PrepareQuery(queries[q], _int8Queries[q]);
                }
            }

            // Scores of unit vectors can round slightly past the threshold; compare against it exactly as given.
            _floor = options.MinSimilarity ?? float.NegativeInfinity;
            _exclude = options.ExcludeIds is { Count: > 0 } exclude ? exclude : null;
            _filter = options.MetadataEquals is { Count: > 0 } filter ? filter : null;
        }

        public TopKHeap[] NewHeaps()
        {
            var heaps = new TopKHeap[_queries.Length];
            for (var i = 0; i < heaps.Length; i++)
            {
                heaps[i] = new TopKHeap(_top, _floor);
            }

            return heaps;
        }

        /// <summary>Scores rows [start, end) against every query.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int start, int end, TopKHeap[] heaps)
        {
            var dim = _blocks.Dimension;
            var perBlock = _blocks.RowsPerBlock;
            var half = _blocks.Precision == VectorPrecision.Half;
            for (var row = start; row < end;)
            {
                var block = row / perBlock;
                var first = row - (block * perBlock);
                var n = Math.Min(end - row, perBlock - first);
                if (_int8Queries is not null)
                {
                    RunInt8(_blocks.Int8Block(block), first, row, n, heaps);
                }
                else if (half)
                {
                    var data = _blocks.HalfBlock(block).AsSpan(first * dim, n * dim);
                    if (heaps.Length == 1)
                    {
                        // One row at a time: measured faster from main memory than two rows per query load
                        // (a two-row kernel reads two streams 8 KiB apart and ran 1.6-1.9x slower; docs/storage.md).
                        var heap = heaps[0];
                        var query = _scaledQuery!;
                        for (var r = 0; r < n; r++)
                        {
                            var score = VectorKernels.DotHalf(data.Slice(r * dim, dim), query);
                            if (score >= heap.Threshold && Accept(S(row + r)))
                            {
                                heap.Push(score, S(row + r));
                            }
                        }
                    }
                    else
                    {
                        // Each query widens the row again: measured faster than widening it once into a scratch
                        // row and reading that back per query (docs/storage.md).
                        for (var r = 0; r < n; r++)
                        {
                            var vector = data.Slice(r * dim, dim);
                            for (var q = 0; q < heaps.Length; q++)
                            {
                                var score = VectorKernels.DotHalf(vector, _scaledQueries![q]);
                                var heap = heaps[q];
                                if (score >= heap.Threshold && Accept(S(row + r)))
                                {
                                    heap.Push(score, S(row + r));
                                }
                            }
                        }
                    }
                }
                else
                {
                    var data = _blocks.SingleBlock(block).AsSpan(first * dim, n * dim);
                    if (heaps.Length == 1)
                    {
                        var heap = heaps[0];
                        var query = _queries[0];
                        var r = 0;
                        for (; r + 1 < n; r += 2)
                        {
                            VectorKernels.Dot2(data.Slice(r * dim, dim), data.Slice((r + 1) * dim, dim), query, out var s0, out var s1);
                            if (s0 >= heap.Threshold && Accept(S(row + r)))
                            {
                                heap.Push(s0, S(row + r));
                            }

                            if (s1 >= heap.Threshold && Accept(S(row + r + 1)))
                            {
                                heap.Push(s1, S(row + r + 1));
                            }
                        }

                        if (r < n)
                        {
                            var score = VectorKernels.Dot(data.Slice(r * dim, dim), query);
                            if (score >= heap.Threshold && Accept(S(row + r)))
                            {
                                heap.Push(score, S(row + r));
                            }
                        }
                    }
                    else
                    {
                        for (var r = 0; r < n; r++)
                        {
                            Score(data.Slice(r * dim, dim), S(row + r), heaps);
                        }
                    }
                }

                row += n;
            }
        }

        /// <summary>Scores <paramref name="n"/> int8 rows of a block, from row <paramref name="first"/> (slot <paramref name="slot"/>).</summary>
        private void RunInt8(byte[] block, int first, int slot, int n, TopKHeap[] heaps)
        {
            var dim = _blocks.Dimension;
            var stride = _blocks.RowStride;
            var codes = MemoryMarshal.Cast<byte, sbyte>(block.AsSpan());
            if (heaps.Length == 1)
            {
                // One row at a time, as for half (two rows per query load measured slower from main memory).
                var heap = heaps[0];
                var query = _int8Queries![0];
                var queryScale = _int8QueryScales![0];
                for (var r = 0; r < n; r++)
                {
                    var o = (first + r) * stride;
                    var score = VectorKernels.DotInt8(codes.Slice(o, dim), Int8Rows.Scales(block.AsSpan(o), dim), query) * queryScale;
                    if (score >= heap.Threshold && Accept(S(slot + r)))
                    {
                        heap.Push(score, S(slot + r));
                    }
                }

                return;
            }

            for (var r = 0; r < n; r++)
            {
                var o = (first + r) * stride;
                var row = codes.Slice(o, dim);
                var rowScales = Int8Rows.Scales(block.AsSpan(o), dim);
                for (var q = 0; q < heaps.Length; q++)
                {
                    var score = VectorKernels.DotInt8(row, rowScales, _int8Queries![q]) * _int8QueryScales![q];
                    var heap = heaps[q];
                    if (score >= heap.Threshold && Accept(S(slot + r)))
                    {
                        heap.Push(score, S(slot + r));
                    }
                }
            }
        }

        private void Score(ReadOnlySpan<float> vector, int slot, TopKHeap[] heaps)
        {
            for (var q = 0; q < heaps.Length; q++)
            {
                var score = VectorKernels.Dot(vector, _queries[q]);
                var heap = heaps[q];
                if (score >= heap.Threshold && Accept(slot))
                {
                    heap.Push(score, slot);
                }
            }
        }

        /// <summary>The store slot of a scanned row.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private int S(int row) => _slots is null ? row : _slots[row];

        public bool Accept(int slot)
        {
            // Free slots keep stale vectors; they are skipped here, only for rows good enough to enter a heap.
            if (_ids[slot] is not { } id)
            {
                return false;
            }

            if (_exclude is not null && _exclude.Contains(id))
            {
                return false;
            }

            if (_filter is not null)
            {
                var metadata = _metadata[slot];
                foreach (var (key, value) in _filter)
                {
                    if (!metadata.TryGetValue(key, out var actual) || !string.Equals(actual, value, StringComparison.Ordinal))
                    {
                        return false;
                    }
                }
            }

            return true;
        }
    }
}
