using ImageSimilarity.Imaging;

namespace ImageSimilarity.Extraction;

/// <summary>
/// Turns images into feature vectors whose cosine similarity measures how alike the images look.
/// </summary>
/// <remarks>
/// <para>Batch-first: a list of images in, one vector per image out, in the same order. The extractor decodes and
/// preprocesses the images itself, the way its model needs (VGG-style presets, an ONNX model's own pipeline...).
/// An extractor whose preprocessing can run apart from the model also implements
/// <see cref="IPreprocessingFeatureExtractor"/>, which the folder indexer uses to decode on worker threads while the
/// model runs.</para>
/// <para>Implementations state their thread-safety; the VGG16 extractor serialises calls on one model, so it may be
/// shared by several threads.</para>
/// </remarks>
public interface IFeatureExtractor : IDisposable
{
    /// <summary>Gets the length of every vector this extractor returns (4096 for VGG16 fc2).</summary>
    int Dimension { get; }

    /// <summary>
    /// Gets an identifier of the model that made the vectors (network, layer, weights and preprocessing preset).
    /// Stores keep it and refuse vectors from a different model, which would not be comparable
    /// (see <see cref="ModelMismatchException.ThrowIfIncompatible(IFeatureExtractor, Storage.IVectorStore)"/>).
    /// </summary>
    string ModelId { get; }

    /// <summary>Decodes, preprocesses and extracts features of a batch of images.</summary>
    /// <param name="images">The images.</param>
    /// <param name="cancellationToken">Cancels the work between batches.</param>
    /// <returns>One vector of <see cref="Dimension"/> floats per image, in order.</returns>
    /// <exception cref="ImageDecodeException">An image cannot be decoded; the message names it.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="images"/> is <see langword="null"/>.</exception>
    /// <exception cref="OperationCanceledException">The operation was cancelled.</exception>
    Task<IReadOnlyList<float[]>> ExtractAsync(IReadOnlyList<ImageInput> images, CancellationToken cancellationToken = default);
}
