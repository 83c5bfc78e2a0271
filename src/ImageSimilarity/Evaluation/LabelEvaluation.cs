namespace ImageSimilarity.Evaluation;

/// <summary>The retrieval figures of the queries of one label.</summary>
/// <param name="Label">The label.</param>
/// <param name="Images">How many images have it.</param>
/// <param name="PrecisionAt1">Mean precision at 1 over its queries.</param>
/// <param name="PrecisionAt5">Mean precision at 5 over its queries.</param>
/// <param name="PrecisionAt10">Mean precision at 10 over its queries.</param>
/// <param name="MeanAveragePrecision">Mean average precision over its queries.</param>
public sealed record LabelEvaluation(string Label, int Images, double PrecisionAt1, double PrecisionAt5, double PrecisionAt10, double MeanAveragePrecision);
