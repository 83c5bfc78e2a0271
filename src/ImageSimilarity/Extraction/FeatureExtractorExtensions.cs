using Microsoft.Extensions.AI;

namespace ImageSimilarity.Extraction;

/// <summary>Extension methods for <see cref="IFeatureExtractor"/>.</summary>
public static class FeatureExtractorExtensions
{
    /// <summary>Wraps the extractor as an <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> of images.</summary>
    /// <param name="extractor">The extractor.</param>
    /// <param name="ownsExtractor">Whether disposing the generator disposes the extractor; default <see langword="false"/>.</param>
    /// <returns>The generator.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="extractor"/> is <see langword="null"/>.</exception>
    public static IEmbeddingGenerator<DataContent, Embedding<float>> AsEmbeddingGenerator(this IFeatureExtractor extractor, bool ownsExtractor = false)
        => new FeatureExtractorEmbeddingGenerator(extractor, ownsExtractor);
}
