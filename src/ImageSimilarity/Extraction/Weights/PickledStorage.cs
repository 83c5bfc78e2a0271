namespace ImageSimilarity.Extraction.Weights;

/// <summary>A storage reference that the format reader resolves to bytes in the file.</summary>
internal sealed class PickledStorage
{
    public PickledStorage(string key, WeightDType dtype, long elementCount, long elementOffset)
    {
        Key = key;
        DType = dtype;
        ElementCount = elementCount;
        ElementOffset = elementOffset;
    }

    public string Key { get; }

    public WeightDType DType { get; }

    /// <summary>Gets the element count of the (root) storage as declared in the pickle.</summary>
    public long ElementCount { get; }

    /// <summary>Gets the offset of a legacy storage view inside its root storage, in elements.</summary>
    public long ElementOffset { get; }
}
