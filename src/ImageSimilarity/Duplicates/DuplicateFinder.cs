using System.Globalization;
using System.Numerics.Tensors;
using ImageSimilarity.Storage;
using SkiaSharp;

namespace ImageSimilarity.Duplicates;

/// <summary>
/// Finds groups of near-identical images (resized, recompressed, slightly cropped, brightened, mirrored or rotated
/// copies) in a store: a batched k-nearest-neighbour search of every stored vector, the pairs at or above a
/// similarity threshold joined into candidate groups, and each candidate split so that every member is at or above
/// the threshold to its group's keeper (no chaining of distinct images through copies similar to both).
/// </summary>
/// <remarks>
/// Works on any <see cref="IVectorStore"/>: the embedded store is searched with one batched scan per
/// <see cref="DuplicateFinderOptions.BatchSize"/> images (<see cref="EmbeddedVectorStore.SearchBatchAsync"/>), other
/// stores (PostgreSQL) with the batch's queries as <see cref="IVectorStore.SearchAsync"/> calls, as many at a time as
/// there are cores (at least 2). Memory stays bounded:
/// one batch of query vectors, the k neighbours of each, the links found and one integer per image (no n x n matrix).
/// Thread-safe (no shared state).
/// </remarks>
public static class DuplicateFinder
{
    /// <summary>Finds the groups of near-duplicates among all records of <paramref name="store"/>.</summary>
    /// <param name="store">The store: the embedded store, PostgreSQL, or any other <see cref="IVectorStore"/>.</param>
    /// <param name="options">Threshold, neighbours and batch size; <see langword="null"/> for <see cref="DuplicateFinderOptions.Default"/>.</param>
    /// <param name="progress">Receives progress after each batch, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the search.</param>
    /// <returns>The groups of two or more images, largest first (then by keeper id).</returns>
    /// <remarks>Without an explicit <see cref="DuplicateFinderOptions.Threshold"/> the threshold is the measured default of the store's model, <see cref="DuplicateFinderOptions.DefaultThresholdFor"/>.</remarks>
    public static async Task<IReadOnlyList<DuplicateGroup>> FindAsync(IVectorStore store, DuplicateFinderOptions? options = null, IProgress<DuplicateProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        options ??= DuplicateFinderOptions.Default;
        var threshold = options.Threshold ?? DuplicateFinderOptions.DefaultThresholdFor(store.ModelId);
        var records = new List<VectorRecord>();
        await foreach (var record in store.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            records.Add(record);
        }

        records.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
        var slot = new Dictionary<string, int>(records.Count, StringComparer.Ordinal);
        for (var i = 0; i < records.Count; i++)
        {
            slot[records[i].Id] = i;
        }

        var sets = new UnionFind(records.Count);
        long links = 0;
        var search = new VectorSearchOptions { Top = options.Neighbours + 1, MinSimilarity = threshold };
        for (var start = 0; start < records.Count; start += options.BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(options.BatchSize, records.Count - start);
            var queries = new List<ReadOnlyMemory<float>>(count);
            var queryIndex = new List<int>(count);
            for (var i = start; i < start + count; i++)
            {
                // A record deleted since the listing is simply not a query.
                if (await store.GetAsync(records[i].Id, cancellationToken).ConfigureAwait(false) is { } full)
                {
                    queries.Add(full.Vector);
                    queryIndex.Add(i);
                }
            }

            var results = await SearchBatchAsync(store, queries, search, cancellationToken).ConfigureAwait(false);
            for (var q = 0; q < results.Count; q++)
            {
                foreach (var hit in results[q])
                {
                    if (slot.TryGetValue(hit.Id, out var other) && other != queryIndex[q] && sets.Union(queryIndex[q], other))
                    {
                        links++;
                    }
                }
            }

            progress?.Report(new DuplicateProgress(start + count, records.Count, links));
        }

        var groups = new List<DuplicateGroup>();
        foreach (var candidate in Enumerable.Range(0, records.Count).GroupBy(sets.Find).Where(g => g.Skip(1).Any()))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var members = candidate.Select(i => records[i]).ToArray();
            groups.AddRange(await SplitAsync(store, members, threshold, options.RequireSimilarityToKeeper, cancellationToken).ConfigureAwait(false));
        }

        return groups
            .OrderByDescending(g => g.Members.Count)
            .ThenBy(g => g.Keeper.Id, StringComparer.Ordinal)
            .ToArray();
    }

    private static async Task<IReadOnlyList<IReadOnlyList<VectorSearchResult>>> SearchBatchAsync(IVectorStore store, List<ReadOnlyMemory<float>> queries, VectorSearchOptions search, CancellationToken cancellationToken)
    {
        if (store is EmbeddedVectorStore embedded)
        {
            return await embedded.SearchBatchAsync(queries, search, cancellationToken).ConfigureAwait(false);
        }

        var results = new IReadOnlyList<VectorSearchResult>[queries.Count];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(2, Environment.ProcessorCount), CancellationToken = cancellationToken };
        await Parallel.ForAsync(0, queries.Count, parallel, async (q, ct) => results[q] = await store.SearchAsync(queries[q], search, ct).ConfigureAwait(false)).ConfigureAwait(false);
        return results;
    }

    /// <summary>
    /// Turns one connected set of links into groups: the best keeper candidate left (most pixels, then oldest, then
    /// smallest id) takes every remaining member at or above the threshold to it, until none is left. Without the
    /// keeper guard the whole set is one group.
    /// </summary>
    private static async Task<IReadOnlyList<DuplicateGroup>> SplitAsync(IVectorStore store, VectorRecord[] members, float threshold, bool requireSimilarityToKeeper, CancellationToken cancellationToken)
    {
        var described = members.Select(Describe).ToArray();
        var order = Enumerable.Range(0, members.Length)
            .OrderByDescending(i => (long)described[i].Width * described[i].Height)
            .ThenBy(i => described[i].LastWriteUtc ?? DateTimeOffset.MaxValue)
            .ThenBy(i => described[i].Id, StringComparer.Ordinal)
            .ToList();

        // Vectors of this candidate set only (a set is small unless the threshold is far too low); a member deleted
        // since the search has none and is left out.
        var vectors = new float[]?[members.Length];
        for (var i = 0; i < members.Length; i++)
        {
            vectors[i] = (await store.GetAsync(members[i].Id, cancellationToken).ConfigureAwait(false))?.Vector.ToArray();
        }

        order.RemoveAll(i => vectors[i] is null);
        var groups = new List<DuplicateGroup>();
        while (order.Count > 1)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var keeper = order[0];
            var taken = new List<DuplicateMember> { described[keeper] with { Similarity = 1f } };
            var keeperSha = members[keeper].Metadata.GetValueOrDefault(RecordMetadata.Sha256);
            var left = new List<int>();
            foreach (var i in order.Skip(1))
            {
                var similarity = TensorPrimitives.CosineSimilarity(vectors[keeper]!, vectors[i]!);
                if (requireSimilarityToKeeper && similarity < threshold)
                {
                    left.Add(i);
                    continue;
                }

                var sha = members[i].Metadata.GetValueOrDefault(RecordMetadata.Sha256);
                var exact = sha is not null && string.Equals(sha, keeperSha, StringComparison.Ordinal);
                taken.Add(described[i] with { Similarity = similarity, IsExactCopy = exact });
            }

            if (taken.Count > 1)
            {
                groups.Add(new DuplicateGroup(taken
                    .Take(1)
                    .Concat(taken.Skip(1).OrderByDescending(m => m.Similarity).ThenBy(m => m.Id, StringComparer.Ordinal))
                    .ToArray()));
            }

            order = left;
        }

        return groups;
    }

    private static DuplicateMember Describe(VectorRecord record)
    {
        var path = record.Metadata.GetValueOrDefault(RecordMetadata.Path);
        var (width, height) = path is null ? (0, 0) : ReadSize(path);
        var bytes = long.TryParse(record.Metadata.GetValueOrDefault(RecordMetadata.Size), NumberStyles.Integer, CultureInfo.InvariantCulture, out var b) ? b : 0;
        DateTimeOffset? mtime = DateTimeOffset.TryParse(record.Metadata.GetValueOrDefault(RecordMetadata.LastWriteUtc), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var t) ? t : null;
        return new DuplicateMember(record.Id, path, 1f, width, height, bytes, mtime, false);
    }

    /// <summary>The size from the file's header only (no pixels decoded); EXIF rotation does not change the pixel count.</summary>
    private static (int Width, int Height) ReadSize(string path)
    {
        try
        {
            using var codec = SKCodec.Create(path);
            return codec is null ? (0, 0) : (codec.Info.Width, codec.Info.Height);
        }
        catch (IOException)
        {
            return (0, 0);
        }
        catch (UnauthorizedAccessException)
        {
            return (0, 0);
        }
    }

    /// <summary>Disjoint sets over 0..n-1 with path halving and union by size.</summary>
    private sealed class UnionFind
    {
        private readonly int[] _parent;
        private readonly int[] _size;

        public UnionFind(int count)
        {
            _parent = Enumerable.Range(0, count).ToArray();
            _size = Enumerable.Repeat(1, count).ToArray();
        }

        public int Find(int x)
        {
            while (_parent[x] != x)
            {
                _parent[x] = _parent[_parent[x]];
                x = _parent[x];
            }

            return x;
        }

        /// <summary>Joins the sets of a and b; false when they were already one set.</summary>
        public bool Union(int a, int b)
        {
            a = Find(a);
            b = Find(b);
            if (a == b)
            {
                return false;
            }

            if (_size[a] < _size[b])
            {
                (a, b) = (b, a);
            }

            _parent[b] = a;
            _size[a] += _size[b];
            return true;
        }
    }
}
