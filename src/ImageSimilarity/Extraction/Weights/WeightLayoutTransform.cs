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

    /// <summary>
    /// Recognises the permutations that are an axis reversal of a 3-D view [p, q, o] -> [o, q, p]: (H, W, in, out) ->
    /// (out, in, H, W) is p = H*W, q = in; a 2-D transpose is q = 1. Those run through <see cref="ReverseAxes"/>.
    /// </summary>
    public bool IsAxisReversal(out int p, out int q, out int o)
    {
        (p, q, o) = (0, 0, 0);
        if (StoredShape.Length == 4 && Permutation.SequenceEqual([3L, 2, 0, 1]))
        {
            (p, q, o) = (checked((int)(StoredShape[0] * StoredShape[1])), checked((int)StoredShape[2]), checked((int)StoredShape[3]));
            return true;
        }

        if (StoredShape.Length == 2 && Permutation.SequenceEqual([1L, 0]))
        {
            (p, q, o) = (checked((int)StoredShape[0]), 1, checked((int)StoredShape[1]));
            return true;
        }

        return false;
    }

    /// <summary>
    /// <c>destination[o, q, p] = source[p, q, o]</c>, cache-blocked and parallel over blocks of o: each source row segment
    /// is read once, and each destination row is written in runs of consecutive p. libtorch's generic strided copy takes
    /// about 10x longer for fc1 (the 7x7 innermost axes have the largest source strides).
    /// </summary>
    public static unsafe void ReverseAxes(float* source, float* destination, int p, int q, int o)
    {
        const int Block = 64;
        var rowLength = (long)q * p;
        nint src = (nint)source, dst = (nint)destination;
        Parallel.For(0, (o + Block - 1) / Block, block =>
        {
            var s = (float*)src;
            var d = (float*)dst;
            int o0 = block * Block, count = Math.Min(Block, o - o0);
            for (var iq = 0; iq < q; iq++)
            {
                for (var ip = 0; ip < p; ip++)
                {
                    var from = s + ((((long)ip * q) + iq) * o) + o0;
                    var to = d + ((long)o0 * rowLength) + ((long)iq * p) + ip;
                    for (var j = 0; j < count; j++)
                    {
                        to[j * rowLength] = from[j];
                    }
                }
            }
        });
    }
}
