namespace ImageSimilarity.Evaluation;

/// <summary>
/// Thrown when a collection cannot be evaluated: it is empty, has a single image, or no two images share a label.
/// The message says what was found and what to do.
/// </summary>
public sealed class EvaluationException : ImageSimilarityException
{
    /// <summary>Initializes a new instance of the <see cref="EvaluationException"/> class.</summary>
    public EvaluationException()
        : base("The collection cannot be evaluated.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="EvaluationException"/> class.</summary>
    /// <param name="message">What was wrong and what to do.</param>
    public EvaluationException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="EvaluationException"/> class.</summary>
    /// <param name="message">What was wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public EvaluationException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
