namespace ImageSimilarity.Evaluation;

/// <summary>Two labels that retrieval mixes up: how often an image of one has an image of the other among its nearest neighbours.</summary>
/// <param name="First">One label (the ordinally smaller).</param>
/// <param name="Second">The other label.</param>
/// <param name="Count">How many wrong-label neighbours within the top <see cref="RetrievalEvaluator.ConfusionDepth"/>, both directions summed.</param>
public sealed record LabelConfusion(string First, string Second, int Count);
