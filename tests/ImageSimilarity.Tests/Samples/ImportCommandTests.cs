using System.CommandLine;
using ImageSimilarity.Extraction;
using ImageSimilarity.Storage;
using ImageSimilarity.TestSupport;
using SearchByImage;

namespace ImageSimilarity.Samples;

/// <summary>
/// <c>import</c> of a Python index written by the real NumPy (np.save / np.savez) from the seed sample's Keras fc2
/// vectors: every form gives exactly the vectors of the raw float32 file, and pickled object arrays are refused.
/// </summary>
[Collection(TorchCollection.Name)] // the CLI writes to the process-wide console, as the other CLI tests do
public sealed class ImportCommandTests
{
    private const string KerasModelId = "vgg16-fc2/keras-64373286/keras-caffe";

    [SkippableFact]
    public async Task Import_NpyNpzAndRaw_GiveTheSameVectorsAndNames()
    {
        var (seed, dir, names) = Prepare();
        using var _ = dir;
        var raw = Path.Combine(seed, "keras-vgg16-fc2.f32");
        var expected = await ReadAllAsync(await ImportAsync(dir, "raw", raw, "--names", names));
        Assert.Equal(88, expected.Count);

        var npy = await ReadAllAsync(await ImportAsync(dir, "npy", dir.Combine("vectors.npy"), "--names", names));
        var npz = await ReadAllAsync(await ImportAsync(dir, "npz", dir.Combine("index.npz")));
        var fortran64 = await ReadAllAsync(await ImportAsync(dir, "f64", dir.Combine("vectors64_fortran.npy"), "--names", dir.Combine("names_bytes.npy")));
        var namesNpy = await ReadAllAsync(await ImportAsync(dir, "names", dir.Combine("vectors.npy"), "--names", dir.Combine("names.npy")));
        foreach (var imported in new[] { npy, npz, fortran64, namesNpy })
        {
            Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), imported.Keys.Order(StringComparer.Ordinal));
            foreach (var (id, vector) in expected)
            {
                Assert.True(vector.AsSpan().SequenceEqual(imported[id]), $"{id} differs");
            }
        }

        // The rows follow the names' order (the store keeps unit vectors, so compare directions).
        var rows = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(raw)).ToArray();
        foreach (var (name, row) in File.ReadLines(names).Select((n, i) => (n, i)))
        {
            var original = rows.AsSpan(row * 4096, 4096);
            Assert.True(System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(original, expected[name]) > 0.99999f, $"row {row} is not '{name}'");
        }

        var info = await EmbeddedVectorStore.ReadInfoAsync(dir.Combine("npz.isvs"));
        Assert.Equal(KerasModelId, info.ModelId);
        Assert.Equal("keras-caffe", info.Properties["preset"]);
    }

    [SkippableFact]
    public async Task Import_PickledObjectsOrMismatchedNames_FailsWithAClearLineAndNoIndex()
    {
        var (_, dir, names) = Prepare();
        using var _ = dir;
        var fewerNames = dir.Combine("fewer.txt");
        await File.WriteAllLinesAsync(fewerNames, File.ReadLines(names).Skip(1));
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.Equal(1, await Run(["import", dir.Combine("objects.npy"), "--names", names, "--model-id", KerasModelId, "--index", dir.Combine("a.isvs")]));
            Assert.Equal(1, await Run(["import", dir.Combine("vectors.npy"), "--names", fewerNames, "--model-id", KerasModelId, "--index", dir.Combine("b.isvs")]));
            Assert.Equal(1, await Run(["import", dir.Combine("vectors.npy"), "--model-id", KerasModelId, "--index", dir.Combine("c.isvs")]));
        }
        finally
        {
            Console.SetError(previous);
        }

        var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.Contains("Python objects", lines[0], StringComparison.Ordinal);
        Assert.Contains("88 vectors but there are 87 names", lines[1], StringComparison.Ordinal);
        Assert.Contains("--names", lines[2], StringComparison.Ordinal);
        Assert.False(File.Exists(dir.Combine("a.isvs")));
        Assert.False(File.Exists(dir.Combine("b.isvs")));
    }

    private static (string Seed, TempDirectory Dir, string Names) Prepare()
    {
        var seed = TestPaths.SeedSample;
        Skip.If(seed is null && !TestPaths.IsCi, "The shared seed-sample data set is not at ../shared/datasets/seed-sample (set IMAGESIMILARITY_SHARED).");
        Assert.True(seed is not null, "CI must have the seed sample at ../shared/datasets/seed-sample.");
        PythonReference.RequireAvailable();
        var dir = TestPaths.CreateTempDirectory("imgsim-import");
        var names = Path.Combine(seed!, "keras-vgg16-fc2.names.txt");
        PythonReference.Run("keras_reference.py", "npy", dir.Path, Path.Combine(seed!, "keras-vgg16-fc2.f32"), names);
        return (seed!, dir, names);
    }

    private static async Task<string> ImportAsync(TempDirectory dir, string name, string vectors, params string[] more)
    {
        var index = dir.Combine(name + ".isvs");
        var output = new StringWriter();
        var previous = Console.Out;
        Console.SetOut(output);
        try
        {
            Assert.Equal(0, await Run(["import", vectors, .. more, "--model-id", KerasModelId, "--index", index]));
        }
        finally
        {
            Console.SetOut(previous);
        }

        Assert.Contains("imported 88 vectors of 4096 floats", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("preset keras-caffe", output.ToString(), StringComparison.Ordinal);
        return index;
    }

    private static async Task<Dictionary<string, float[]>> ReadAllAsync(string index)
    {
        await using var store = await EmbeddedVectorStore.OpenAsync(index, null);
        var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var id in File.ReadLines(Path.Combine(TestPaths.SeedSample!, "keras-vgg16-fc2.names.txt")).Where(l => l.Length > 0))
        {
            var record = await store.GetAsync(id) ?? throw new InvalidOperationException($"{index} has no '{id}'");
            result[id] = record.Vector.ToArray();
        }

        Assert.Equal(result.Count, store.Count);
        return result;
    }

    private static Task<int> Run(string[] args) => new RootCommand { ImportCommand.Create() }.Parse(args).InvokeAsync();
}
