namespace ImageSimilarity.Duplicates;

/// <summary>How <see cref="DuplicateFinder"/> decides that two images are near-duplicates.</summary>
public sealed class DuplicateFinderOptions
{
    /// <summary>The default similarity threshold for VGG16 fc2 vectors (and for models without a measured default), 0.981.</summary>
    /// <remarks>
    /// Measured (docs/duplicates.md) with the only VGG16 that runs without a download, random weights: its fc2 vectors
    /// of distinct seed-sample images reach 0.9807, half-size, JPEG q30, 10 % crop, +30 % brightness and EXIF-rotated
    /// copies stay at or above 0.9822. Pretrained features spread distinct images much further apart (the Keras vectors
    /// of the seed sample: at most 0.822), so with them this default is conservative: lower it to find more.
    /// </remarks>
    public const float DefaultThreshold = 0.981f;

    /// <summary>The default similarity threshold for the built-in pretrained ResNet18 (model id <c>resnet18/...</c>), 0.93.</summary>
    /// <remarks>
    /// Measured (docs/duplicates.md) on the 88 seed-sample images and six transformed copies of each: distinct originals
    /// reach 0.9086 (Stop1 and Stop2), so 0.93 keeps them apart with a margin; with the keeper guard
    /// (<see cref="RequireSimilarityToKeeper"/>) no two distinct originals are grouped at it. Some half-size copies
    /// (down to 0.87) score below it and are missed.
    /// </remarks>
    public const float DefaultResNet18Threshold = 0.93f;

    /// <summary>Gets the default options.</summary>
    public static DuplicateFinderOptions Default { get; } = new();

    /// <summary>
    /// Gets the cosine similarity at or above which two images are linked, between 0 (exclusive) and 1; or
    /// <see langword="null"/> (the default) for the measured default of the store's model, <see cref="DefaultThresholdFor"/>.
    /// </summary>
    public float? Threshold
    {
        get;
        init
        {
            if (value is { } v && !(v is > 0f and <= 1f))
            {
                throw new ArgumentOutOfRangeException(nameof(Threshold), value, "The threshold must be above 0 and at most 1.");
            }

            field = value;
        }
    }

    /// <summary>
    /// Gets whether every member of a group must be at or above the threshold to the group's keeper (default
    /// <see langword="true"/>). Without it, groups are the plain chains of links (single linkage), so two distinct
    /// images can end up together through copies that are similar to both.
    /// </summary>
    public bool RequireSimilarityToKeeper { get; init; } = true;

    /// <summary>Gets how many nearest neighbours each image links to at most. Default 10; at least 1.</summary>
    /// <remarks>Groups larger than this still form through chains of links.</remarks>
    public int Neighbours
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value, nameof(Neighbours));
            field = value;
        }
    } = 10;

    /// <summary>Gets how many images are searched for together (one batched scan of the store each). Default 32; at least 1.</summary>
    public int BatchSize
    {
        get;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value, nameof(BatchSize));
            field = value;
        }
    } = 32;

    /// <summary>The measured default threshold for the vectors of a model, chosen by its model id.</summary>
    /// <param name="modelId">The store's <see cref="Storage.IVectorStore.ModelId"/>.</param>
    /// <returns><see cref="DefaultResNet18Threshold"/> for the built-in ResNet18 (<c>resnet18/...</c>); otherwise <see cref="DefaultThreshold"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="modelId"/> is <see langword="null"/>.</exception>
    public static float DefaultThresholdFor(string modelId)
    {
        ArgumentNullException.ThrowIfNull(modelId);
        return modelId.StartsWith("resnet18/", StringComparison.Ordinal) || modelId == "resnet18"
            ? DefaultResNet18Threshold
            : DefaultThreshold;
    }
}
