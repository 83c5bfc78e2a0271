namespace ImageSimilarity.Storage;

/// <summary>
/// An index file cannot be opened: it is not an ImageSimilarity index, it is truncated or corrupt, or its format
/// version is newer than this library understands. The message names the file and what is wrong.
/// </summary>
/// <remarks>Nothing is changed when this is thrown: the file is left as it is and no store is replaced.</remarks>
public sealed class IndexFileException : ImageSimilarityException
{
    /// <summary>Initializes a new instance of the <see cref="IndexFileException"/> class.</summary>
    public IndexFileException()
        : base("The index file cannot be opened.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="IndexFileException"/> class.</summary>
    /// <param name="message">The message.</param>
    public IndexFileException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="IndexFileException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public IndexFileException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="IndexFileException"/> class for a file.</summary>
    /// <param name="filePath">The index file.</param>
    /// <param name="problem">What is wrong with it, for example "it is truncated".</param>
    /// <param name="innerException">The cause, if any.</param>
    public IndexFileException(string filePath, string problem, Exception? innerException = null)
        : base($"The index file '{filePath}' cannot be opened: {problem}", innerException)
    {
        FilePath = filePath;
    }

    /// <summary>Gets the index file, when known.</summary>
    public string? FilePath { get; }
}
