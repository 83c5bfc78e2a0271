namespace SearchByImage;

/// <summary>A command was cancelled after it kept some work; the message says what was kept.</summary>
internal sealed class CommandCancelledException : OperationCanceledException
{
    public CommandCancelledException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
