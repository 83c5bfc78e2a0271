namespace ImageSimilarity.PgVector;

/// <summary>How a vector becomes the bit code that the approximate index searches by Hamming distance.</summary>
public enum BinaryCodeKind
{
    /// <summary>
    /// One bit per dimension: value &gt; 0 (pgvector's <c>binary_quantize</c>). For ReLU features such as VGG16 fc2,
    /// which are never negative, this only records which units fire.
    /// </summary>
    Sign = 0,

    /// <summary>
    /// One bit per dimension: value &gt; that dimension's median over the stored vectors (estimated from a sample
    /// when the index is built, and kept with the table so later records get comparable codes). Each bit then splits
    /// the collection in half, which carries more information per bit.
    /// </summary>
    Median = 1,
}
