namespace ImageSimilarity.Storage;

/// <summary>
/// Vectors and a store do not fit together: a different vector length or a different model. Vectors of different
/// models are not comparable, so mixing them would give meaningless rankings.
/// </summary>
public sealed class VectorStoreMismatchException : InvalidOperationException
{
    /// <summary>Initializes a new instance of the <see cref="VectorStoreMismatchException"/> class.</summary>
    public VectorStoreMismatchException()
        : base("The vectors do not fit the store.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="VectorStoreMismatchException"/> class.</summary>
    /// <param name="message">The message.</param>
    public VectorStoreMismatchException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="VectorStoreMismatchException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public VectorStoreMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
