namespace ImageSimilarity.OnnxRuntime;

/// <summary>
/// An ONNX model cannot be used: the file is missing or is not ONNX, its inputs or outputs do not match the
/// <see cref="OnnxModelSpec"/>, its spec file cannot be read, or a built-in model's files are not installed. The message names the file and says
/// what to do.
/// </summary>
public sealed class OnnxModelException : ImageSimilarityException
{
    /// <summary>Initializes a new instance of the <see cref="OnnxModelException"/> class.</summary>
    public OnnxModelException()
        : base("The ONNX model cannot be used.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="OnnxModelException"/> class with a message.</summary>
    /// <param name="message">What is wrong.</param>
    public OnnxModelException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="OnnxModelException"/> class with a message and a cause.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public OnnxModelException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="OnnxModelException"/> class for a file.</summary>
    /// <param name="modelPath">The model file.</param>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause, if any.</param>
    public OnnxModelException(string modelPath, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ModelPath = modelPath;
    }

    /// <summary>Gets the model file concerned, if any.</summary>
    public string? ModelPath { get; }
}
