using System.Runtime.InteropServices;

namespace SearchByImage;

/// <summary>
/// Turns the first Ctrl-C (SIGINT) or SIGTERM into cancellation, so a command stops cleanly and keeps its work; a
/// second signal ends the process at once, as usual. The exit code then says which signal it was (130 or 143).
/// </summary>
/// <remarks>
/// System.CommandLine's own handling (<c>ProcessTerminationTimeout</c>) ends the process two seconds after the signal,
/// which is shorter than saving a large index; this handler waits for the command instead.
/// </remarks>
internal sealed class TerminationSignals : IDisposable
{
    public const int InterruptExitCode = 130;
    public const int TerminateExitCode = 143;

    private static int _exitCode = InterruptExitCode;
    private readonly CancellationTokenSource _cancellation = new();
    private readonly PosixSignalRegistration[] _registrations;

    public TerminationSignals()
    {
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle),
        ];
    }

    /// <summary>Gets the exit code of a command cancelled by a signal: 130 for Ctrl-C/SIGINT, 143 for SIGTERM.</summary>
    public static int ExitCode => Volatile.Read(ref _exitCode);

    /// <summary>Gets the token cancelled by the first signal.</summary>
    public CancellationToken Token => _cancellation.Token;

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        _cancellation.Dispose();
    }

    private void Handle(PosixSignalContext context)
    {
        if (_cancellation.IsCancellationRequested)
        {
            return; // the second signal takes its default action: the process ends now
        }

        context.Cancel = true;
        Volatile.Write(ref _exitCode, context.Signal == PosixSignal.SIGTERM ? TerminateExitCode : InterruptExitCode);
        Console.Error.WriteLine($"{(context.Signal == PosixSignal.SIGTERM ? "SIGTERM" : "Ctrl-C")}: stopping and saving what is done (send it again to quit at once)");
        _cancellation.Cancel();
    }
}
