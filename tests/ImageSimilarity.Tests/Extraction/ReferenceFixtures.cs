using System.Text.Json;
using ImageSimilarity.TestSupport;

namespace ImageSimilarity.Extraction;

/// <summary>
/// Runs tests/reference/vgg16_reference.py once per test run: a seeded random VGG16 saved by the real torch.save in
/// zip and legacy format and as timm-named safetensors (3 x 528 MB in a temp folder), plus torchvision's features.
/// </summary>
public sealed class Vgg16ReferenceFixture : IDisposable
{
    private readonly Lazy<Generated> _data;
    private TempDirectory? _dir;

    public Vgg16ReferenceFixture() => _data = new Lazy<Generated>(Generate, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Gets the generated data; skips (outside CI) or fails (in CI) when the Python reference is missing.</summary>
    internal Generated Data
    {
        get
        {
            PythonReference.RequireAvailable();
            return _data.Value;
        }
    }

    public void Dispose() => _dir?.Dispose();

    private Generated Generate()
    {
        _dir = TestPaths.CreateTempDirectory("imgsim-vgg16-ref");
        PythonReference.Run("vgg16_reference.py", "full", _dir.Path);
        using var manifest = JsonDocument.Parse(File.ReadAllText(_dir.Combine("manifest.json")));
        var images = manifest.RootElement.GetProperty("images").EnumerateArray().Select(e => e.GetString()!).ToArray();
        var inputs = manifest.RootElement.GetProperty("inputs").GetInt32();
        var x = ReadFloats(_dir.Combine("inputs.f32"));
        var y = ReadFloats(_dir.Combine("features.f32"));
        var inLength = 3 * 224 * 224;
        return new Generated(
            _dir.Path,
            images,
            Enumerable.Range(0, inputs).Select(i => x.AsSpan(i * inLength, inLength).ToArray()).ToArray(),
            Enumerable.Range(0, inputs).Select(i => y.AsSpan(i * 4096, 4096).ToArray()).ToArray());
    }

    private static float[] ReadFloats(string path)
    {
        var bytes = File.ReadAllBytes(path);
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();
    }

    internal sealed record Generated(string Folder, string[] Images, float[][] Inputs, float[][] Features)
    {
        public string File(string name) => Path.Combine(Folder, name);
    }
}

/// <summary>Small state dicts written by the real torch.save (both formats) and pickles that name os.system.</summary>
public sealed class SmallCheckpointFixture : IDisposable
{
    private readonly Lazy<string> _folder;
    private TempDirectory? _dir;

    public SmallCheckpointFixture() => _folder = new Lazy<string>(() =>
    {
        _dir = TestPaths.CreateTempDirectory("imgsim-small-ref");
        PythonReference.Run("vgg16_reference.py", "small", _dir.Path);
        return _dir.Path;
    });

    internal string Folder
    {
        get
        {
            PythonReference.RequireAvailable();
            return _folder.Value;
        }
    }

    public void Dispose() => _dir?.Dispose();
}
