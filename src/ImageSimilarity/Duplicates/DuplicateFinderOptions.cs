namespace ImageSimilarity.Duplicates;

/// <summary>How <see cref="DuplicateFinder"/> decides that two images are near-duplicates.</summary>
public sealed class DuplicateFinderOptions
{
    /// <summary>The default similarity threshold, 0.981.</summary>
    /// <remarks>
    /// Measured (docs/duplicates.md) with the only VGG16 that runs without a download, random weights: its fc2 vectors
    /// of distinct seed-sample images reach 0.9807, half-size, JPEG q30, 10 % crop, +30 % brightness and EXIF-rotated
    /// copies stay at or above 0.9822. Pretrained features spread distinct images much further apart (the Keras vectors
    /// of the seed sample: at most 0.822), so with them this default is conservative: lower it to find more.
    /// </remarks>
    public const float DefaultThreshold = 0.981f;

    /// <summary>Gets the default options.</summary>
    public static DuplicateFinderOptions Default { get; } = new();

    /// <summary>Gets the cosine similarity at or above which two images are linked. Default <see cref="DefaultThreshold"/>; between 0 (exclusive) and 1.</summary>
    public float Threshold
    {
        get;
        init
        {
            if (!(value is > 0f and <= 1f))
            {
                throw new ArgumentOutOfRangeException(nameof(Threshold), value, "The threshold must be above 0 and at most 1.");
            }

            field = value;
        }
    } = DefaultThreshold;

    /// <summary>Gets how many nearest neighbours each image links to at most. Default 10; at least 1.</summary>
    /// <remarks>Groups larger than this still form through chains of links (union-find).</remarks>
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
}
