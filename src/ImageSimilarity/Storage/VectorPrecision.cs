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
}
