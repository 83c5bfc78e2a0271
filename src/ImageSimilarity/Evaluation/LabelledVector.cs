namespace ImageSimilarity.Evaluation;

/// <summary>One item of a labelled collection: an id, its label and its feature vector.</summary>
/// <param name="Id">The id (unique in the collection).</param>
/// <param name="Label">The label; items with the same label count as relevant to each other.</param>
/// <param name="Vector">The feature vector; it need not be normalised.</param>
public sealed record LabelledVector(string Id, string Label, ReadOnlyMemory<float> Vector);
