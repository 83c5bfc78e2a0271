using ImageSimilarity.Imaging;

namespace ImageSimilarity.Extraction;

/// <summary>
/// Turns images into feature vectors whose cosine similarity measures how alike the images look.
/// </summary>
/// <remarks>
/// Batch-first: a list of images in, one vector per image out, in the same order. Implementations state their
/// thread-safety; the VGG16 extractor serialises calls on one model, so it may be shared by several threads.
/// </remarks>
public interface IFeatureExtractor : IDisposable
{
    /// <summary>Gets the length of every vector this extractor returns (4096 for VGG16 fc2).</summary>
    int Dimension { get; }

    /// <summary>
    /// Gets an identifier of the model that made the vectors (network, layer, weights and preprocessing preset).
    /// Stores keep it and refuse vectors from a different model, which would not be comparable.
    /// </summary>
    string ModelId { get; }

    /// <summary>Gets the preprocessor that turns an image into this model's input; it is thread-safe.</summary>
    ImagePreprocessor Preprocessor { get; }

    /// <summary>Decodes, preprocesses and extracts features of a batch of images.</summary>
    /// <param name="images">The images.</param>
    /// <param name="cancellationToken">Cancels the work between batches.</param>
    /// <returns>One vector of <see cref="Dimension"/> floats per image, in order.</returns>
    /// <exception cref="ImageDecodeException">An image cannot be decoded; the message names it.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="images"/> is <see langword="null"/>.</exception>
    /// <exception cref="OperationCanceledException">The operation was cancelled.</exception>
    Task<IReadOnlyList<float[]>> ExtractAsync(IReadOnlyList<ImageInput> images, CancellationToken cancellationToken = default);

    /// <summary>Extracts features of images already preprocessed by <see cref="Preprocessor"/>.</summary>
    /// <param name="images">The preprocessed images.</param>
    /// <param name="cancellationToken">Cancels the work between batches.</param>
    /// <returns>One vector of <see cref="Dimension"/> floats per image, in order.</returns>
    /// <exception cref="ArgumentException">An image does not have the shape the model expects.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="images"/> is <see langword="null"/>.</exception>
    /// <exception cref="OperationCanceledException">The operation was cancelled.</exception>
    Task<IReadOnlyList<float[]>> ExtractAsync(IReadOnlyList<PreprocessedImage> images, CancellationToken cancellationToken = default);
}
