using System.Globalization;
using System.Numerics.Tensors;
using ImageSimilarity.Storage;
using SkiaSharp;

namespace ImageSimilarity.Duplicates;

/// <summary>
/// Finds groups of near-identical images (resized, recompressed, slightly cropped, brightened, mirrored or rotated
/// copies) in a store: a batched k-nearest-neighbour search of every stored vector, the pairs at or above a
/// similarity threshold, and union-find into groups.
/// </summary>
/// <remarks>
/// Memory stays bounded: one batch of query vectors, the k neighbours of each, the links found and one integer per
/// image (no n x n matrix). Time is about n / batch size batched scans of the store. Thread-safe (no shared state).
/// </remarks>
public static class DuplicateFinder
{
    /// <summary>Finds the groups of near-duplicates among all records of <paramref name="store"/>.</summary>
    /// <param name="store">The store.</param>
    /// <param name="options">Threshold, neighbours and batch size; <see langword="null"/> for <see cref="DuplicateFinderOptions.Default"/>.</param>
    /// <param name="progress">Receives progress after each batch, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the search.</param>
    /// <returns>The groups of two or more images, largest first (then by keeper id).</returns>
    public static async Task<IReadOnlyList<DuplicateGroup>> FindAsync(EmbeddedVectorStore store, DuplicateFinderOptions? options = null, IProgress<DuplicateProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        options ??= DuplicateFinderOptions.Default;
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
        var search = new VectorSearchOptions { Top = options.Neighbours + 1, MinSimilarity = options.Threshold };
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

            var results = await store.SearchBatchAsync(queries, search, cancellationToken).ConfigureAwait(false);
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
        foreach (var members in Enumerable.Range(0, records.Count).GroupBy(sets.Find).Where(g => g.Count() > 1))
        {
            cancellationToken.ThrowIfCancellationRequested();
            groups.Add(await DescribeAsync(store, members.Select(i => records[i]).ToArray(), cancellationToken).ConfigureAwait(false));
        }

        return groups
            .OrderByDescending(g => g.Members.Count)
            .ThenBy(g => g.Keeper.Id, StringComparer.Ordinal)
            .ToArray();
    }

    private static async Task<DuplicateGroup> DescribeAsync(EmbeddedVectorStore store, VectorRecord[] members, CancellationToken cancellationToken)
    {
        var described = members.Select(Describe).ToArray();
        var keeper = described
            .OrderByDescending(m => (long)m.Width * m.Height)
            .ThenBy(m => m.LastWriteUtc ?? DateTimeOffset.MaxValue)
            .ThenBy(m => m.Id, StringComparer.Ordinal)
            .First();
        var keeperRecord = await store.GetAsync(keeper.Id, cancellationToken).ConfigureAwait(false);
        var keeperSha = members.First(m => m.Id == keeper.Id).Metadata.GetValueOrDefault(RecordMetadata.Sha256);
        var scored = new List<DuplicateMember>(described.Length);
        for (var i = 0; i < described.Length; i++)
        {
            var member = described[i];
            var similarity = 1f;
            if (member.Id != keeper.Id && keeperRecord is not null && await store.GetAsync(member.Id, cancellationToken).ConfigureAwait(false) is { } record)
            {
                similarity = TensorPrimitives.CosineSimilarity(keeperRecord.Vector.Span, record.Vector.Span);
            }

            var sha = members[i].Metadata.GetValueOrDefault(RecordMetadata.Sha256);
            var exact = member.Id != keeper.Id && sha is not null && string.Equals(sha, keeperSha, StringComparison.Ordinal);
            scored.Add(member with { Similarity = similarity, IsExactCopy = exact });
        }

        return new DuplicateGroup(scored
            .OrderByDescending(m => m.Id == keeper.Id)
            .ThenByDescending(m => m.Similarity)
            .ThenBy(m => m.Id, StringComparer.Ordinal)
            .ToArray());
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
