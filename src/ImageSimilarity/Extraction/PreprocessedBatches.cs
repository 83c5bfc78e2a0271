using ImageSimilarity.Imaging;

namespace ImageSimilarity.Extraction;

/// <summary>
/// The part of <see cref="IPreprocessingFeatureExtractor.ExtractPreprocessedAsync"/> every extractor shares: check that
/// each image has the model's input shape, then run the model over slices of at most the batch size, in order.
/// </summary>
internal static class PreprocessedBatches
{
    /// <summary>Checks the shapes up front, then runs <paramref name="runBatch"/> on consecutive slices.</summary>
    /// <param name="images">The preprocessed images.</param>
    /// <param name="size">The model's square input size (3 x size x size).</param>
    /// <param name="model">How the error names the model, e.g. "VGG16" or "the model 'resnet18'".</param>
    /// <param name="batchSize">The most images per model call.</param>
    /// <param name="runBatch">Runs the model on one slice; one vector per image, in order.</param>
    /// <param name="cancellationToken">Checked between slices.</param>
    /// <exception cref="ArgumentException">An image is null or has another shape; the message names it.</exception>
    public static async Task<IReadOnlyList<float[]>> RunAsync(
        IReadOnlyList<PreprocessedImage> images,
        int size,
        string model,
        int batchSize,
        Func<PreprocessedImage[], CancellationToken, Task<float[][]>> runBatch,
        CancellationToken cancellationToken)
    {
        for (var i = 0; i < images.Count; i++)
        {
            var image = images[i] ?? throw new ArgumentException($"Image {i} is null.", nameof(images));
            if (image.Channels != 3 || image.Height != size || image.Width != size)
            {
                throw new ArgumentException($"Image {i} ('{image.Name}') is {image.Channels}x{image.Height}x{image.Width}; {model} needs 3x{size}x{size}.", nameof(images));
            }
        }

        var results = new List<float[]>(images.Count);
        for (var start = 0; start < images.Count; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(batchSize, images.Count - start);
            var batch = new PreprocessedImage[count];
            for (var i = 0; i < count; i++)
            {
                batch[i] = images[start + i];
            }

            results.AddRange(await runBatch(batch, cancellationToken).ConfigureAwait(false));
        }

        return results;
    }
}
