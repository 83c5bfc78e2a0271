using System.Diagnostics;
using ImageSimilarity.TestSupport;

namespace ImageSimilarity.Storage;

/// <summary>A small tmpfs mounted for one test (needs root and permission to mount), unmounted and removed on dispose.</summary>
internal sealed class TmpfsMount : IDisposable
{
    private readonly TempDirectory _dir;

    private TmpfsMount(TempDirectory dir) => _dir = dir;

    public string Path => _dir.Path;

    /// <summary>Mounts a tmpfs of <paramref name="size"/> (e.g. "2m"); returns <see langword="null"/> and why when mounting is not permitted here.</summary>
    public static TmpfsMount? TryCreate(string size, out string reason)
    {
        var dir = TestPaths.CreateTempDirectory("imgsim-tmpfs");
        var (code, text) = Run("mount", "-t", "tmpfs", "-o", $"size={size},mode=0777", "tmpfs", dir.Path);
        if (code != 0)
        {
            dir.Dispose();
            reason = $"mounting a tmpfs is not permitted here (mount exited {code}: {text.Trim()})";
            return null;
        }

        reason = string.Empty;
        return new TmpfsMount(dir);
    }

    public void RemountReadOnly()
    {
        var (code, text) = Run("mount", "-o", "remount,ro", Path);
        if (code != 0)
        {
            throw new InvalidOperationException($"remount read-only failed: {text}");
        }
    }

    public void Dispose()
    {
        Run("umount", Path);
        _dir.Dispose();
    }

    private static (int Code, string Text) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file);
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        try
        {
            var (code, stdout, stderr) = ChildProcess.Run(psi, ChildProcess.ShortTimeout);
            return (code, stdout + stderr);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, ex.Message);
        }
    }
}
