namespace ImageSimilarity.Evaluation;

/// <summary>
/// Leave-one-out retrieval figures of a labelled collection: each image is a query against all the others, and the
/// images with its label are the relevant ones.
/// </summary>
/// <remarks>
/// Precision at k is the share of the k nearest other images that have the query's label (divided by k even when the
/// label has fewer than k other images). Average precision is the mean of the precision at the rank of each relevant
/// image over the full ranking. Images whose label no other image has cannot be queried meaningfully; they stay in
/// the collection as distractors but are not queries (<see cref="Singletons"/>).
/// </remarks>
public sealed class RetrievalEvaluation
{
    internal RetrievalEvaluation(int images, int queries, IReadOnlyList<string> singletons, double p1, double p5, double p10, double map, IReadOnlyList<LabelEvaluation> perLabel, IReadOnlyList<LabelConfusion> confusions)
    {
        Images = images;
        Queries = queries;
        Singletons = singletons;
        PrecisionAt1 = p1;
        PrecisionAt5 = p5;
        PrecisionAt10 = p10;
        MeanAveragePrecision = map;
        PerLabel = perLabel;
        Confusions = confusions;
    }

    /// <summary>Gets the number of labelled images in the collection.</summary>
    public int Images { get; }

    /// <summary>Gets the number of images used as queries (those whose label at least one other image has).</summary>
    public int Queries { get; }

    /// <summary>Gets the ids of images whose label no other image has (not queried, still ranked as distractors).</summary>
    public IReadOnlyList<string> Singletons { get; }

    /// <summary>Gets the mean precision at 1 over all queries.</summary>
    public double PrecisionAt1 { get; }

    /// <summary>Gets the mean precision at 5 over all queries.</summary>
    public double PrecisionAt5 { get; }

    /// <summary>Gets the mean precision at 10 over all queries.</summary>
    public double PrecisionAt10 { get; }

    /// <summary>Gets the mean over all queries of the average precision of the full ranking.</summary>
    public double MeanAveragePrecision { get; }

    /// <summary>Gets the figures per label, by label (ordinal).</summary>
    public IReadOnlyList<LabelEvaluation> PerLabel { get; }

    /// <summary>Gets the label pairs mixed up most, most first (ties by label), only pairs mixed up at least once.</summary>
    public IReadOnlyList<LabelConfusion> Confusions { get; }
}
