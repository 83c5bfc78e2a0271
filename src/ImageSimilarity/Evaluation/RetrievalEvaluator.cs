using System.Numerics.Tensors;
using ImageSimilarity.Storage;

namespace ImageSimilarity.Evaluation;

/// <summary>
/// Measures how well cosine-similarity retrieval finds images of the same label: leave-one-out over a labelled
/// collection, with P@1, P@5, P@10, mAP, a per-label table and the most confused label pairs.
/// </summary>
/// <remarks>
/// The vectors are held in memory (n x dimension floats) and every query ranks all other images, so the cost is
/// O(n² x dimension): meant for evaluation sets of up to some tens of thousands of images. Ties in similarity are
/// broken by id (ordinal), so results are deterministic. Thread-safe (no shared state).
/// </remarks>
public static class RetrievalEvaluator
{
    /// <summary>How many nearest neighbours of each query count towards <see cref="RetrievalEvaluation.Confusions"/>.</summary>
    public const int ConfusionDepth = 5;

    /// <summary>Evaluates the records of a store, labelled by <paramref name="labelOf"/>.</summary>
    /// <param name="store">The store; the labelled records are read with their vectors.</param>
    /// <param name="labelOf">
    /// The label of a record (id and metadata; its vector is empty), or <see langword="null"/> to leave the record out.
    /// <see cref="EvaluationLabels"/> reads the usual labels from the id: <c>r =&gt; EvaluationLabels.FromFolder(r.Id)</c>.
    /// </param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>The figures.</returns>
    /// <exception cref="EvaluationException">The store is empty, holds one image, no record has a label, or no two records share one.</exception>
    public static async Task<RetrievalEvaluation> EvaluateAsync(IVectorStore store, Func<VectorRecord, string?> labelOf, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(labelOf);
        var listed = new List<VectorRecord>();
        await foreach (var record in store.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            listed.Add(record);
        }

        CheckSize(listed.Count);
        var ids = listed.Select(x => x.Id).ToArray();
        var items = new List<LabelledVector>(listed.Count);
        foreach (var listedRecord in listed)
        {
            if (labelOf(listedRecord) is not { } label)
            {
                continue;
            }

            var record = await store.GetAsync(listedRecord.Id, cancellationToken).ConfigureAwait(false);
            if (record is not null)
            {
                items.Add(new LabelledVector(record.Id, label, record.Vector));
            }
        }

        if (items.Count == 0)
        {
            throw new EvaluationException($"none of the {ids.Length} images has a label (for example '{ids.Order(StringComparer.Ordinal).First()}'): put each category in its own sub-folder, or name files by category with a number (cat1.jpg, cat2.jpg) and use prefix labels");
        }

        return Evaluate(items, cancellationToken);
    }

    /// <summary>Evaluates a labelled collection held in memory.</summary>
    /// <param name="items">The items; ids must be unique and vectors of one length, non-zero and finite.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>The figures.</returns>
    /// <exception cref="EvaluationException">Fewer than two items, or no two share a label.</exception>
    /// <exception cref="ArgumentException">Duplicate ids, vectors of different lengths, or a zero or non-finite vector; the message names the id.</exception>
    public static RetrievalEvaluation Evaluate(IReadOnlyList<LabelledVector> items, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        CheckSize(items.Count);
        var sorted = items.OrderBy(x => x.Id, StringComparer.Ordinal).ToArray();
        var n = sorted.Length;
        var dimension = sorted[0].Vector.Length;
        var vectors = new float[n * dimension];
        for (var i = 0; i < n; i++)
        {
            if (i > 0 && string.Equals(sorted[i].Id, sorted[i - 1].Id, StringComparison.Ordinal))
            {
                throw new ArgumentException($"id '{sorted[i].Id}' appears twice", nameof(items));
            }

            var source = sorted[i].Vector.Span;
            if (source.Length != dimension)
            {
                throw new ArgumentException($"'{sorted[i].Id}' has {source.Length} values, '{sorted[0].Id}' has {dimension}", nameof(items));
            }

            var norm = TensorPrimitives.Norm(source);
            if (!float.IsFinite(norm) || norm == 0)
            {
                throw new ArgumentException($"the vector of '{sorted[i].Id}' is all zero or not finite", nameof(items));
            }

            TensorPrimitives.Divide(source, norm, vectors.AsSpan(i * dimension, dimension));
        }

        var labels = sorted.Select(x => x.Label).ToArray();
        var labelCounts = labels.GroupBy(x => x, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var singletons = sorted.Where(x => labelCounts[x.Label] == 1).Select(x => x.Id).ToArray();
        if (singletons.Length == n)
        {
            throw new EvaluationException($"no two of the {n} images share a label (labels like '{labels[0]}'), so there is nothing to retrieve: give each category at least two images");
        }

        var results = new QueryResult[n];
        var similarities = new float[n];
        var order = new int[n - 1];
        for (var q = 0; q < n; q++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (labelCounts[labels[q]] < 2)
            {
                continue;
            }

            var query = vectors.AsSpan(q * dimension, dimension);
            for (var j = 0; j < n; j++)
            {
                similarities[j] = TensorPrimitives.Dot(query, vectors.AsSpan(j * dimension, dimension));
            }

            var k = 0;
            for (var j = 0; j < n; j++)
            {
                if (j != q)
                {
                    order[k++] = j;
                }
            }

            // Best first; equal similarities by position, which is the ordinal id order.
            Array.Sort(order, (a, b) => similarities[b].CompareTo(similarities[a]) is var c && c != 0 ? c : a.CompareTo(b));
            results[q] = Score(q, order, labels, labelCounts[labels[q]] - 1);
        }

        return Summarise(n, labels, labelCounts, singletons, results);
    }

    private static void CheckSize(int count)
    {
        if (count == 0)
        {
            throw new EvaluationException("the index is empty: index a folder of labelled images first");
        }

        if (count == 1)
        {
            throw new EvaluationException("the index holds a single image: leave-one-out evaluation needs at least two images per label");
        }
    }

    private static QueryResult Score(int q, int[] order, string[] labels, int relevant)
    {
        var label = labels[q];
        var hits = 0;
        double sumPrecision = 0;
        int hitsAt1 = 0, hitsAt5 = 0, hitsAt10 = 0;
        var confused = new List<string>();
        for (var rank = 0; rank < order.Length; rank++)
        {
            var same = string.Equals(labels[order[rank]], label, StringComparison.Ordinal);
            if (same)
            {
                hits++;
                sumPrecision += hits / (double)(rank + 1);
            }
            else if (rank < ConfusionDepth)
            {
                confused.Add(labels[order[rank]]);
            }

            if (rank == 0)
            {
                hitsAt1 = hits;
            }

            if (rank == 4)
            {
                hitsAt5 = hits;
            }

            if (rank == 9)
            {
                hitsAt10 = hits;
            }

            if (hits == relevant && rank >= 9)
            {
                break;
            }
        }

        // Fewer than 10 other images: the counts stop growing where the ranking ends.
        hitsAt5 = order.Length < 5 ? hits : hitsAt5;
        hitsAt10 = order.Length < 10 ? hits : hitsAt10;
        return new QueryResult(true, hitsAt1, hitsAt5 / 5.0, hitsAt10 / 10.0, sumPrecision / relevant, confused);
    }

    private static RetrievalEvaluation Summarise(int n, string[] labels, Dictionary<string, int> labelCounts, string[] singletons, QueryResult[] results)
    {
        var queried = Enumerable.Range(0, n).Where(i => results[i].Queried).ToArray();
        var perLabel = queried
            .GroupBy(i => labels[i], StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new LabelEvaluation(g.Key, labelCounts[g.Key], g.Average(i => results[i].P1), g.Average(i => results[i].P5), g.Average(i => results[i].P10), g.Average(i => results[i].AveragePrecision)))
            .ToArray();
        var confusions = new Dictionary<(string, string), int>();
        foreach (var i in queried)
        {
            foreach (var other in results[i].Confused)
            {
                var key = string.CompareOrdinal(labels[i], other) < 0 ? (labels[i], other) : (other, labels[i]);
                confusions[key] = confusions.GetValueOrDefault(key) + 1;
            }
        }

        var pairs = confusions
            .Select(x => new LabelConfusion(x.Key.Item1, x.Key.Item2, x.Value))
            .OrderByDescending(x => x.Count)
            .ThenBy(x => x.First, StringComparer.Ordinal)
            .ThenBy(x => x.Second, StringComparer.Ordinal)
            .ToArray();
        return new RetrievalEvaluation(
            n,
            queried.Length,
            singletons,
            queried.Average(i => results[i].P1),
            queried.Average(i => results[i].P5),
            queried.Average(i => results[i].P10),
            queried.Average(i => results[i].AveragePrecision),
            perLabel,
            pairs);
    }

    private readonly record struct QueryResult(bool Queried, double P1, double P5, double P10, double AveragePrecision, List<string> Confused);
}
