namespace SearchByImage.Web.Services;

/// <summary>Thrown when the extraction queue is full; the API answers 503 with <see cref="RetryAfter"/>.</summary>
internal sealed class ExtractionQueueFullException : Exception
{
    public ExtractionQueueFullException(int capacity, TimeSpan retryAfter)
        : base($"The server is busy: {capacity} images are already waiting for the model. Try again in {retryAfter.TotalSeconds:F0} s.")
    {
        RetryAfter = retryAfter;
    }

    public ExtractionQueueFullException()
    {
    }

    public ExtractionQueueFullException(string message)
        : base(message)
    {
    }

    public ExtractionQueueFullException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Gets how long the client should wait before trying again.</summary>
    public TimeSpan RetryAfter { get; } = TimeSpan.FromSeconds(1);
}
