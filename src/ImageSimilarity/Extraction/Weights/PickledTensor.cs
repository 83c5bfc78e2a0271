namespace ImageSimilarity.Extraction.Weights;

/// <summary>The arguments of <c>_rebuild_tensor(_v2)</c>: a tensor view over a storage.</summary>
internal sealed record PickledTensor(PickledStorage Storage, long StorageOffset, long[] Shape, long[] Stride);
