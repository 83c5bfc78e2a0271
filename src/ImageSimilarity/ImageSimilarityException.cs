namespace ImageSimilarity;

/// <summary>
/// The base of every exception the library throws for a problem with its inputs or files (an image that cannot be
/// decoded, an unusable weights or index file, an extractor and a store of different models). Catch it to report any
/// of them in one place; the message always names the file or key and says what to do.
/// </summary>
/// <remarks>Argument errors of the API (<see cref="ArgumentException"/>) and cancellation are not part of this family.</remarks>
public class ImageSimilarityException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="ImageSimilarityException"/> class.</summary>
    public ImageSimilarityException()
        : base("An ImageSimilarity operation failed.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ImageSimilarityException"/> class.</summary>
    /// <param name="message">What was wrong and what to do.</param>
    public ImageSimilarityException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ImageSimilarityException"/> class.</summary>
    /// <param name="message">What was wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public ImageSimilarityException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
