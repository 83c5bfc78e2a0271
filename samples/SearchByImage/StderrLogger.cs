using Microsoft.Extensions.Logging;

namespace SearchByImage;

/// <summary>Writes the library's information and warnings to stderr, one line each (stdout may be JSON).</summary>
internal sealed class StderrLogger : ILogger
{
    public static StderrLogger Instance { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }

        Console.Error.WriteLine((logLevel >= LogLevel.Warning ? "warning: " : string.Empty) + formatter(state, exception));
    }
}
