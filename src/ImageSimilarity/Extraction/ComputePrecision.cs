namespace ImageSimilarity.Extraction;

/// <summary>The number format the network computes in. Features are always returned as <see cref="float"/>.</summary>
public enum ComputePrecision
{
    /// <summary>32-bit floating point: matches PyTorch to about 1e-6 relative error. The default.</summary>
    Float32 = 0,

    /// <summary>
    /// bfloat16 weights and activations: about twice as fast on CPUs with AVX512_BF16/AMX, features with cosine
    /// similarity of about 0.99+ to the <see cref="Float32"/> ones, so vectors of both precisions can share a store.
    /// </summary>
    BFloat16 = 1,
}
