using System.Diagnostics;

namespace ImageSimilarity.TestSupport;

/// <summary>
/// Runs the Python reference scripts in tests/reference with Debian's /usr/bin/python3 (torch, torchvision, PIL, numpy).
/// </summary>
/// <remarks>
/// Outside CI a missing reference makes the calling test skip with the reason; in CI (CI=true) it fails the test,
/// because .ci/run installs the reference through eng/install-prerequisites.sh --test.
/// </remarks>
internal static class PythonReference
{
    private static readonly Lazy<string?> Missing = new(Probe);

    /// <summary>Gets the interpreter used: $IMAGESIMILARITY_PYTHON or /usr/bin/python3.</summary>
    public static string Python => Environment.GetEnvironmentVariable("IMAGESIMILARITY_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";

    /// <summary>Skips (outside CI) or fails (in CI) the current test when the reference cannot run.</summary>
    public static void RequireAvailable()
    {
        if (Missing.Value is { } reason)
        {
            if (TestPaths.IsCi)
            {
                throw new InvalidOperationException("CI must have the Python reference (eng/install-prerequisites.sh --test): " + reason);
            }

            Skip.If(true, reason + " Run eng/install-prerequisites.sh --test to install it.");
        }
    }

    /// <summary>Runs a script from tests/reference with arguments; throws with its output when it fails.</summary>
    public static string Run(string script, params string[] args)
    {
        RequireAvailable();
        var psi = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(TestPaths.ReferenceScripts, script));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        var (code, stdout, stderr) = ChildProcess.Run(psi, ChildProcess.LongTimeout);
        if (code != 0)
        {
            throw new InvalidOperationException($"{script} failed with exit code {code}:\n{stderr}\n{stdout}");
        }

        return stdout;
    }

    private static string? Probe()
    {
        if (!File.Exists(Python))
        {
            return $"The Python reference interpreter {Python} is not installed.";
        }

        try
        {
            var (code, _, err) = ChildProcess.Run(new ProcessStartInfo(Python, ["-c", "import torch, torchvision, PIL, numpy"]), ChildProcess.ShortTimeout);
            return code == 0 ? null : $"{Python} lacks torch/torchvision/PIL/numpy: {err.Trim()}";
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return $"{Python} cannot run: {ex.Message}";
        }
    }
}
