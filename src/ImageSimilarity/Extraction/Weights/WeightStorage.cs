namespace ImageSimilarity.Extraction.Weights;

/// <summary>The raw bytes behind one or more tensors of a weights file, read on demand straight into a destination.</summary>
internal abstract class WeightStorage
{
    protected WeightStorage(string description, long byteLength, long availableBytes)
    {
        Description = description;
        ByteLength = byteLength;
        AvailableBytes = availableBytes;
    }

    /// <summary>Gets where the bytes are, for error messages.</summary>
    public string Description { get; }

    /// <summary>Gets the length the file declares for this storage.</summary>
    public long ByteLength { get; }

    /// <summary>Gets how many of the declared bytes the file really holds (less when it is truncated).</summary>
    public long AvailableBytes { get; }

    /// <summary>Fills <paramref name="destination"/> with the bytes that start at <paramref name="byteOffset"/>.</summary>
    public abstract void Read(long byteOffset, Span<byte> destination);
}
