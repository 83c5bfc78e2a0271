namespace ImageSimilarity.Extraction.Weights;

/// <summary>One named tensor of a state dict: its type, shape and where its elements are; the data stays in the file.</summary>
internal sealed class WeightTensor
{
    public WeightTensor(string name, WeightDType dtype, long[] shape, long[] stride, long storageOffset, WeightStorage storage)
    {
        Name = name;
        DType = dtype;
        Shape = shape;
        Stride = stride;
        StorageOffset = storageOffset;
        Storage = storage;
    }

    /// <summary>
    /// Creates a tensor from what a file declares, after checking that its sizes are non-negative and that its
    /// element count, byte length and storage range fit in 64 bits (a crafted file could make them wrap around).
    /// </summary>
    /// <exception cref="WeightsFileException">They do not.</exception>
    public static WeightTensor Create(string filePath, string name, WeightDType dtype, long[] shape, long[] stride, long storageOffset, WeightStorage storage)
    {
        if (shape.Length != stride.Length || shape.Any(d => d < 0) || stride.Any(s => s < 0) || storageOffset < 0)
        {
            throw new WeightsFileException(filePath, [$"'{name}' declares a negative size, stride or offset"]);
        }

        try
        {
            long size = WeightDTypes.SizeOf(dtype);
            long count = 1;
            foreach (var d in shape)
            {
                count = checked(count * d);
            }

            _ = checked((storageOffset * size) + (count * size));
        }
        catch (OverflowException ex)
        {
            throw new WeightsFileException(filePath, [$"'{name}' declares a shape {FormatShape(shape)} or offset {storageOffset:N0} too large to address"], ex);
        }

        return new WeightTensor(name, dtype, shape, stride, storageOffset, storage);
    }

    public string Name { get; }

    public WeightDType DType { get; }

    public long[] Shape { get; }

    /// <summary>Gets the strides in elements.</summary>
    public long[] Stride { get; }

    /// <summary>Gets the offset of the first element in its storage, in elements.</summary>
    public long StorageOffset { get; }

    public WeightStorage Storage { get; }

    /// <summary>
    /// Gets how the stored elements become <see cref="Shape"/> when they are in another axis order (Keras' HWIO
    /// kernels, for example), or <see langword="null"/> when they are already stored in <see cref="Shape"/>'s order.
    /// </summary>
    public WeightLayoutTransform? LayoutTransform { get; init; }

    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    public long ByteLength => ElementCount * WeightDTypes.SizeOf(DType);

    /// <summary>Gets the number of bytes that the file must hold for this tensor (storage offset plus data).</summary>
    public long RequiredStorageBytes => (StorageOffset * WeightDTypes.SizeOf(DType)) + ByteLength;

    public string ShapeText => FormatShape(Shape);

    /// <summary>Gets a value indicating whether the elements are stored densely in row-major order.</summary>
    public bool IsContiguous
    {
        get
        {
            long expected = 1;
            for (var i = Shape.Length - 1; i >= 0; i--)
            {
                if (Shape[i] != 1 && Stride[i] != expected)
                {
                    return false;
                }

                expected *= Shape[i];
            }

            return true;
        }
    }

    public static string FormatShape(IReadOnlyList<long> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>Reads the raw little-endian elements into <paramref name="destination"/> (exactly <see cref="ByteLength"/> bytes).</summary>
    public void ReadInto(Span<byte> destination)
    {
        if (destination.Length != ByteLength)
        {
            throw new ArgumentException($"The destination must hold {ByteLength} bytes.", nameof(destination));
        }

        Storage.Read(StorageOffset * WeightDTypes.SizeOf(DType), destination);
    }
}
