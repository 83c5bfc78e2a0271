using System.Runtime.InteropServices;
using PureHDF.VOL.Native;

namespace ImageSimilarity.Extraction.Weights;

/// <summary>
/// The elements of one HDF5 dataset, read by PureHDF straight into the destination (contiguous, chunked or compressed
/// layouts alike). Only whole-dataset reads are supported, which is how the loader reads every tensor.
/// </summary>
internal sealed class Hdf5DatasetStorage : WeightStorage
{
    private readonly string _fileName;
    private readonly NativeDataset _dataset;
    private readonly WeightDType _dtype;

    public Hdf5DatasetStorage(string fileName, NativeDataset dataset, WeightDType dtype, string description, long byteLength)
        : base(description, byteLength, byteLength)
    {
        _fileName = fileName;
        _dataset = dataset;
        _dtype = dtype;
    }

    public override void Read(long byteOffset, Span<byte> destination)
    {
        if (byteOffset != 0 || destination.Length != ByteLength)
        {
            throw new ArgumentException($"{Description} is read whole: {ByteLength} bytes from offset 0.", nameof(destination));
        }

        try
        {
            switch (_dtype)
            {
                case WeightDType.Float32:
                    _dataset.Read(MemoryMarshal.Cast<byte, float>(destination));
                    break;
                case WeightDType.Float64:
                    _dataset.Read(MemoryMarshal.Cast<byte, double>(destination));
                    break;
                case WeightDType.Float16:
                    _dataset.Read(MemoryMarshal.Cast<byte, Half>(destination));
                    break;
                default:
                    throw new WeightsFileException(_fileName, [$"{Description} has an unsupported element type {WeightDTypes.Name(_dtype)}"]);
            }
        }
        catch (Exception ex) when (ex is not WeightsFileException and not OutOfMemoryException and not OperationCanceledException)
        {
            throw new WeightsFileException(_fileName, [$"{Description} cannot be read: {ex.Message} (the file may be truncated or damaged)"], ex);
        }
    }
}
