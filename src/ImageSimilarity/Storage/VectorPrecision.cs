namespace ImageSimilarity.Storage;

/// <summary>How an embedded store keeps its vectors in memory and on disk.</summary>
public enum VectorPrecision
{
    /// <summary>32-bit floats (4 bytes per value): exact scores.</summary>
    Single = 0,

    /// <summary>
    /// 16-bit floats (<see cref="System.Half"/>, 2 bytes per value): half the memory and about twice the search speed;
    /// similarities differ from <see cref="Single"/> by about 1e-3, which can swap near-ties in a ranking.
    /// </summary>
    Half = 1,

    /// <summary>
    /// 8-bit integers with one scale per vector (about 1 byte per value: a quarter of <see cref="Single"/>), scored
    /// with integer dot products. Similarities differ from <see cref="Single"/> by up to about 1e-2, so near-ties
    /// swap more often than with <see cref="Half"/>; docs/storage.md gives the measured recall. Needs the SQLite
    /// index file (the single-file format of version 1 cannot hold it).
    /// </summary>
    Int8 = 2,
}
