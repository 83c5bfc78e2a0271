namespace ImageSimilarity.Extraction.Weights;

/// <summary>A pickled torch storage class such as <c>torch.FloatStorage</c>.</summary>
internal sealed record TorchStorageType(string Name, WeightDType DType);
