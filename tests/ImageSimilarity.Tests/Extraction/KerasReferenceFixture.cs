using System.Diagnostics;
using System.Text.Json;
using ImageSimilarity.TestSupport;

namespace ImageSimilarity.Extraction;

/// <summary>
/// Runs tests/reference/keras_reference.py once per test run: the parity tests' seeded random VGG16 written by
/// Debian's h5py in Keras' applications layout and in a full saved model's layout (2 x 528 MB in a temp folder), the
/// Keras-preprocessed inputs, the fc2 features computed with Keras semantics in numpy, and small broken .h5 files.
/// </summary>
public sealed class KerasReferenceFixture : IDisposable
{
    private static readonly Lazy<string?> MissingH5py = new(ProbeH5py);
    private readonly Lazy<Generated> _data;
    private readonly Lazy<string> _broken;
    private TempDirectory? _dir;
    private TempDirectory? _brokenDir;

    public KerasReferenceFixture()
    {
        _data = new Lazy<Generated>(Generate, LazyThreadSafetyMode.ExecutionAndPublication);
        _broken = new Lazy<string>(
            () =>
            {
                _brokenDir = TestPaths.CreateTempDirectory("imgsim-keras-broken");
                PythonReference.Run("keras_reference.py", "broken", _brokenDir.Path);
                return _brokenDir.Path;
            },
            LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>Gets the generated data; skips (outside CI) or fails (in CI) when the Python reference or h5py is missing.</summary>
    internal Generated Data
    {
        get
        {
            RequireH5py();
            return _data.Value;
        }
    }

    /// <summary>Gets the folder of the small broken .h5 files.</summary>
    internal string BrokenFolder
    {
        get
        {
            RequireH5py();
            return _broken.Value;
        }
    }

    public void Dispose()
    {
        _dir?.Dispose();
        _brokenDir?.Dispose();
    }

    /// <summary>Skips (outside CI) or fails (in CI) when Debian's python3-h5py is not installed.</summary>
    internal static void RequireH5py()
    {
        PythonReference.RequireAvailable();
        if (MissingH5py.Value is { } reason)
        {
            if (TestPaths.IsCi)
            {
                throw new InvalidOperationException("CI must have python3-h5py (eng/install-prerequisites.sh --test): " + reason);
            }

            Skip.If(true, reason + " Run eng/install-prerequisites.sh --test to install it.");
        }
    }

    private static string? ProbeH5py()
    {
        var psi = new ProcessStartInfo(PythonReference.Python, ["-c", "import h5py"])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(psi)!;
        var err = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? null : $"{PythonReference.Python} lacks h5py: {err.Trim()}";
    }

    private Generated Generate()
    {
        _dir = TestPaths.CreateTempDirectory("imgsim-keras-ref");
        PythonReference.Run("keras_reference.py", "full", _dir.Path);
        using var manifest = JsonDocument.Parse(File.ReadAllText(_dir.Combine("manifest.json")));
        var images = manifest.RootElement.GetProperty("images").EnumerateArray().Select(e => e.GetString()!).ToArray();
        var inputs = manifest.RootElement.GetProperty("inputs").GetInt32();
        var x = ReadFloats(_dir.Combine("inputs.f32"));
        var y = ReadFloats(_dir.Combine("features.f32"));
        const int inLength = 3 * 224 * 224;
        return new Generated(
            _dir.Path,
            images,
            Enumerable.Range(0, inputs).Select(i => x.AsSpan(i * inLength, inLength).ToArray()).ToArray(),
            Enumerable.Range(0, inputs).Select(i => y.AsSpan(i * 4096, 4096).ToArray()).ToArray());
    }

    private static float[] ReadFloats(string path)
        => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();

    internal sealed record Generated(string Folder, string[] Images, float[][] Inputs, float[][] Features)
    {
        public string File(string name) => Path.Combine(Folder, name);
    }
}
