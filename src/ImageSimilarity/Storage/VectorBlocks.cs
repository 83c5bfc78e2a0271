using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace ImageSimilarity.Storage;

/// <summary>
/// Unit vectors kept row by row in large contiguous blocks of <see cref="RowsPerBlock"/> rows (about 8 MiB each),
/// as <see cref="float"/>, <see cref="Half"/> or <see cref="Int8Rows"/> rows (codes and scale, each row padded to
/// 64 bytes so every row starts at the same cache-line offset). Slot <c>s</c> lives in block <c>s / RowsPerBlock</c>.
/// </summary>
/// <remarks>
/// Fixed-size blocks mean growing never copies the whole store, and a scan over a block is one sequential stream.
/// While the store is small the last block starts small and doubles until it is full size, so a small store stays
/// small; from ten blocks on, new blocks are allocated at full size (the unused part stays under 10%).
/// Not thread-safe: <see cref="EmbeddedVectorStore"/> guards it with its lock.
/// </remarks>
internal sealed class VectorBlocks
{
    private const int TargetBlockBytes = 8 << 20;
    private const int FirstBlockRows = 16;
    private const int FullBlocksBeforeNoGrowth = 10;

    private readonly List<float[]> _single = [];
    private readonly List<Half[]> _half = [];
    private readonly List<byte[]> _int8 = [];
    private float[]? _codeRow;

    public VectorBlocks(int dimension, VectorPrecision precision, bool holdsRows = true)
    {
        Dimension = dimension;
        Precision = precision;
        HoldsRows = holdsRows;
        RowStride = precision switch
        {
            VectorPrecision.Half => dimension * 2,
            VectorPrecision.Int8 => (Int8Rows.RowBytes(dimension) + 63) & ~63,
            _ => dimension * 4,
        };
        RowsPerBlock = Math.Max(1, TargetBlockBytes / RowStride);
    }

    /// <summary>
    /// Gets a value indicating whether the rows are held (false for a store whose vectors stay in the index file:
    /// only <see cref="Capacity"/> and the <see cref="Codes"/> grow then).
    /// </summary>
    public bool HoldsRows { get; }

    /// <summary>Gets the bytes from one row to the next.</summary>
    public int RowStride { get; }

    public int Dimension { get; }

    public VectorPrecision Precision { get; }

    public int RowsPerBlock { get; }

    /// <summary>Gets how many slots the allocated blocks can hold.</summary>
    public long Capacity { get; private set; }

    public int BlockCount => Precision switch
    {
        VectorPrecision.Half => _half.Count,
        VectorPrecision.Int8 => _int8.Count,
        _ => _single.Count,
    };

    /// <summary>
    /// Gets or sets the binary codes kept beside the rows (two-stage search), or <see langword="null"/>; set, every
    /// <see cref="Write"/> also writes the row's code.
    /// </summary>
    public BinaryCodes? Codes { get; set; }

    /// <summary>Gets the bytes held by the blocks.</summary>
    public long AllocatedBytes => HoldsRows ? Capacity * RowStride : 0;

    public float[] SingleBlock(int block) => _single[block];

    public Half[] HalfBlock(int block) => _half[block];

    public byte[] Int8Block(int block) => _int8[block];

    /// <summary>Makes room for slots 0 to <paramref name="slots"/> - 1.</summary>
    public void EnsureCapacity(long slots)
    {
        Codes?.EnsureCapacity(slots);
        if (!HoldsRows)
        {
            Capacity = Math.Max(Capacity, slots);
            return;
        }

        while (Capacity < slots)
        {
            var blocks = BlockCount;
            var lastRows = blocks == 0 ? 0 : (int)(Capacity - ((long)(blocks - 1) * RowsPerBlock));
            if (blocks > 0 && lastRows < RowsPerBlock)
            {
                // Grow the partial last block by doubling (it is at most one block, so the copy stays small).
                var need = (int)Math.Min(RowsPerBlock, slots - ((long)(blocks - 1) * RowsPerBlock));
                var rows = Math.Min(RowsPerBlock, Math.Max(need, lastRows * 2));
                Replace(blocks - 1, lastRows, rows);
                Capacity += rows - lastRows;
            }
            else
            {
                // Once the store holds ten full blocks, an empty new block is under 10% of the total: allocate it
                // at full size and skip the doubling copies.
                var need = slots - Capacity;
                var rows = need >= RowsPerBlock || blocks >= FullBlocksBeforeNoGrowth
                    ? RowsPerBlock
                    : (int)Math.Min(RowsPerBlock, Math.Max(need, FirstBlockRows));
                Add(rows);
                Capacity += rows;
            }
        }
    }

    public void Write(int slot, ReadOnlySpan<float> unit)
    {
        if (!HoldsRows)
        {
            throw new InvalidOperationException("The vectors of this store are kept in its index file only.");
        }

        WriteRow(slot, unit);
        if (Codes is { } codes)
        {
            // From the stored row (not the given floats), so that the code is the same when the index is opened again.
            if (Precision == VectorPrecision.Single)
            {
                codes.Write(slot, unit);
            }
            else
            {
                var row = _codeRow ??= new float[Dimension];
                Read(slot, row);
                codes.Write(slot, row);
            }
        }
    }

    public void Read(int slot, Span<float> destination)
    {
        var (block, offset) = Locate(slot);
        if (Precision == VectorPrecision.Int8)
        {
            Int8Rows.Dequantize(RowBytes(block, slot - (block * RowsPerBlock), 1), destination);
        }
        else if (Precision == VectorPrecision.Half)
        {
            TensorPrimitives.ConvertToSingle(_half[block].AsSpan(offset, Dimension), destination);
        }
        else
        {
            _single[block].AsSpan(offset, Dimension).CopyTo(destination);
        }
    }

    /// <summary>
    /// Gets the raw bytes of <paramref name="rows"/> rows starting at row <paramref name="firstRow"/> of a block. For
    /// <see cref="VectorPrecision.Int8"/>, one row's bytes are its file format (<see cref="Int8Rows.RowBytes"/>, without
    /// the padding); several rows include the padding between them.
    /// </summary>
    public Span<byte> RowBytes(int block, int firstRow, int rows) => Precision switch
    {
        VectorPrecision.Half => MemoryMarshal.AsBytes(_half[block].AsSpan(firstRow * Dimension, rows * Dimension)),
        VectorPrecision.Int8 => _int8[block].AsSpan(firstRow * RowStride, ((rows - 1) * RowStride) + Int8Rows.RowBytes(Dimension)),
        _ => MemoryMarshal.AsBytes(_single[block].AsSpan(firstRow * Dimension, rows * Dimension)),
    };

    private void WriteRow(int slot, ReadOnlySpan<float> unit)
    {
        var (block, offset) = Locate(slot);
        if (Precision == VectorPrecision.Int8)
        {
            Int8Rows.Quantize(unit, RowBytes(block, slot - (block * RowsPerBlock), 1));
        }
        else if (Precision == VectorPrecision.Half)
        {
            TensorPrimitives.ConvertToHalf(unit, _half[block].AsSpan(offset, Dimension));
        }
        else
        {
            unit.CopyTo(_single[block].AsSpan(offset, Dimension));
        }
    }

    private (int Block, int Offset) Locate(int slot)
    {
        var block = slot / RowsPerBlock;
        return (block, (slot - (block * RowsPerBlock)) * Dimension);
    }

    private void Add(int rows)
    {
        if (Precision == VectorPrecision.Int8)
        {
            // Zeroed, not uninitialised: the padding after each row is streamed by benchmarks and never holds stale data.
            _int8.Add(new byte[rows * RowStride]);
        }
        else if (Precision == VectorPrecision.Half)
        {
            _half.Add(GC.AllocateUninitializedArray<Half>(rows * Dimension));
        }
        else
        {
            _single.Add(GC.AllocateUninitializedArray<float>(rows * Dimension));
        }
    }

    private void Replace(int block, int oldRows, int newRows)
    {
        if (Precision == VectorPrecision.Int8)
        {
            var grown = new byte[newRows * RowStride];
            _int8[block].AsSpan(0, oldRows * RowStride).CopyTo(grown);
            _int8[block] = grown;
        }
        else if (Precision == VectorPrecision.Half)
        {
            var grown = GC.AllocateUninitializedArray<Half>(newRows * Dimension);
            _half[block].AsSpan(0, oldRows * Dimension).CopyTo(grown);
            _half[block] = grown;
        }
        else
        {
            var grown = GC.AllocateUninitializedArray<float>(newRows * Dimension);
            _single[block].AsSpan(0, oldRows * Dimension).CopyTo(grown);
            _single[block] = grown;
        }
    }
}
