using ImageSimilarity.Imaging;

namespace ImageSimilarity.Extraction;

/// <summary>How the searcher and the folder indexer call an extractor: through its preprocessing capability when it has one.</summary>
internal static class FeatureExtraction
{
    /// <summary>
    /// Extracts one vector per image: with <see cref="IPreprocessingFeatureExtractor"/>, the images are preprocessed on
    /// thread-pool threads and handed to <see cref="IPreprocessingFeatureExtractor.ExtractPreprocessedAsync"/>; otherwise
    /// <see cref="IFeatureExtractor.ExtractAsync"/> does everything.
    /// </summary>
    public static async Task<IReadOnlyList<float[]>> ExtractAsync(IFeatureExtractor extractor, IReadOnlyList<ImageInput> images, CancellationToken cancellationToken)
    {
        if (extractor is not IPreprocessingFeatureExtractor preprocessing)
        {
            return Checked(extractor, await extractor.ExtractAsync(images, cancellationToken).ConfigureAwait(false), images.Count);
        }

        var prepared = new PreprocessedImage[images.Count];
        var preprocessor = preprocessing.Preprocessor;
        await Parallel.ForAsync(0, images.Count, cancellationToken, (i, _) =>
        {
            prepared[i] = preprocessor.Preprocess(images[i]);
            return ValueTask.CompletedTask;
        }).ConfigureAwait(false);
        return await ExtractPreprocessedAsync(preprocessing, prepared, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs <see cref="IPreprocessingFeatureExtractor.ExtractPreprocessedAsync"/> and checks what it returns.</summary>
    public static async Task<IReadOnlyList<float[]>> ExtractPreprocessedAsync(IPreprocessingFeatureExtractor extractor, IReadOnlyList<PreprocessedImage> images, CancellationToken cancellationToken)
        => Checked(extractor, await extractor.ExtractPreprocessedAsync(images, cancellationToken).ConfigureAwait(false), images.Count);

    /// <summary>Refuses a result that breaks the contract (a vector per image, each <see cref="IFeatureExtractor.Dimension"/> long).</summary>
    private static IReadOnlyList<float[]> Checked(IFeatureExtractor extractor, IReadOnlyList<float[]> vectors, int expected)
    {
        if (vectors is null || vectors.Count != expected)
        {
            throw new InvalidOperationException($"The extractor of model '{extractor.ModelId}' returned {vectors?.Count ?? 0} vectors for {expected} images; it must return one per image.");
        }

        foreach (var vector in vectors)
        {
            if (vector is null || vector.Length != extractor.Dimension)
            {
                throw new InvalidOperationException($"The extractor of model '{extractor.ModelId}' returned a vector of {vector?.Length ?? 0} floats; its Dimension is {extractor.Dimension}.");
            }
        }

        return vectors;
    }
}
