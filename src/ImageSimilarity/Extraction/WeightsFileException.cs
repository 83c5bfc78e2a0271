namespace ImageSimilarity.Extraction;

/// <summary>
/// A weights file cannot be used: it is missing, truncated, in an unknown format, unsafe (a pickle that names code),
/// or its tensors do not fit the model. The message names the file and lists every problem found.
/// </summary>
public sealed class WeightsFileException : ImageSimilarityException
{
    /// <summary>Initializes a new instance of the <see cref="WeightsFileException"/> class.</summary>
    public WeightsFileException()
        : this("The weights file cannot be used.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="WeightsFileException"/> class with a message.</summary>
    /// <param name="message">What is wrong.</param>
    public WeightsFileException(string message)
        : base(message)
    {
        Problems = [message];
    }

    /// <summary>Initializes a new instance of the <see cref="WeightsFileException"/> class with a message and a cause.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public WeightsFileException(string message, Exception? innerException)
        : base(message, innerException)
    {
        Problems = [message];
    }

    /// <summary>Initializes a new instance of the <see cref="WeightsFileException"/> class for a file and its problems.</summary>
    /// <param name="filePath">The weights file.</param>
    /// <param name="problems">Every problem found, one sentence each.</param>
    /// <param name="innerException">The cause, if any.</param>
    public WeightsFileException(string filePath, IReadOnlyList<string> problems, Exception? innerException = null)
        : base(Format(filePath, problems), innerException)
    {
        FilePath = filePath;
        Problems = problems;
    }

    /// <summary>Gets the weights file, when the problem is about one.</summary>
    public string? FilePath { get; }

    /// <summary>Gets every problem found, one sentence each.</summary>
    public IReadOnlyList<string> Problems { get; }

    private static string Format(string filePath, IReadOnlyList<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        return problems.Count == 1
            ? $"The weights file '{filePath}' cannot be used: {problems[0]}."
            : $"The weights file '{filePath}' cannot be used ({problems.Count} problems):{Environment.NewLine}"
              + string.Join(Environment.NewLine, problems.Select(p => " - " + p));
    }
}
