using ImageSimilarity.Imaging;

namespace ImageSimilarity.Extraction;

/// <summary>
/// An optional capability of a <see cref="IFeatureExtractor"/> whose preprocessing runs apart from the model: images
/// are turned into network inputs by <see cref="Preprocessor"/> (thread-safe, CPU-bound, on any thread), then
/// <see cref="ExtractPreprocessedAsync"/> runs the model on them.
/// </summary>
/// <remarks>
/// The folder indexer and the searcher use this capability when an extractor has it, so that decoding overlaps with
/// the model and a file that cannot be decoded is reported on its own; otherwise they call
/// <see cref="IFeatureExtractor.ExtractAsync"/>. <c>ExtractAsync(images)</c> must give the same vectors as
/// preprocessing each image with <see cref="Preprocessor"/> and calling <see cref="ExtractPreprocessedAsync"/>.
/// </remarks>
public interface IPreprocessingFeatureExtractor : IFeatureExtractor
{
    /// <summary>Gets the preprocessor that turns an image into this model's input; it is thread-safe.</summary>
    IImagePreprocessor Preprocessor { get; }

    /// <summary>Extracts features of images already preprocessed by <see cref="Preprocessor"/>.</summary>
    /// <param name="images">The preprocessed images.</param>
    /// <param name="cancellationToken">Cancels the work between batches.</param>
    /// <returns>One vector of <see cref="IFeatureExtractor.Dimension"/> floats per image, in order.</returns>
    /// <exception cref="ArgumentException">An image does not have the shape the model expects.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="images"/> is <see langword="null"/>.</exception>
    /// <exception cref="OperationCanceledException">The operation was cancelled.</exception>
    Task<IReadOnlyList<float[]>> ExtractPreprocessedAsync(IReadOnlyList<PreprocessedImage> images, CancellationToken cancellationToken = default);
}
