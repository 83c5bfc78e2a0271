namespace ImageSimilarity.Imaging;

/// <summary>Decodes an image and turns it into a model's input (CHW floats), as an <see cref="Extraction.IPreprocessingFeatureExtractor"/> needs.</summary>
/// <remarks>Implementations are thread-safe and CPU-bound: the folder indexer calls one on several worker threads at once.</remarks>
public interface IImagePreprocessor
{
    /// <summary>Gets how images are decoded (size limit, EXIF orientation, background for transparency).</summary>
    ImageDecoderOptions DecoderOptions { get; }

    /// <summary>Decodes and preprocesses one image.</summary>
    /// <param name="image">The image.</param>
    /// <returns>The network input.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is <see langword="null"/>.</exception>
    /// <exception cref="ImageDecodeException">The image cannot be read or decoded; the message names it and says why.</exception>
    PreprocessedImage Preprocess(ImageInput image);
}
