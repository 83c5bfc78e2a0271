namespace ImageSimilarity.Extraction.Weights;

/// <summary>
/// A tensor stored in another axis order than the model's: the elements form <see cref="StoredShape"/> in the file, and
/// <c>permute(<see cref="Permutation"/>)</c> of that gives the model's axis order (the shape <see cref="PermutedShape"/>,
/// with as many elements as the parameter, which may flatten some of its axes).
/// </summary>
/// <param name="StoredShape">The shape of the elements as stored (row-major).</param>
/// <param name="Permutation">The axis order that turns the stored tensor into the model's layout.</param>
internal sealed record WeightLayoutTransform(long[] StoredShape, long[] Permutation)
{
    /// <summary>Gets the shape after the permutation.</summary>
    public long[] PermutedShape => Permutation.Select(axis => StoredShape[axis]).ToArray();
}
