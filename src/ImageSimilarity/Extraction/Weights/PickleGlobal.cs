namespace ImageSimilarity.Extraction.Weights;

/// <summary>An allowed global function or class, named but never executed.</summary>
internal sealed record PickleGlobal(string Module, string Name);
