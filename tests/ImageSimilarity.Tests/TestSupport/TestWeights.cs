using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using ImageSimilarity.Extraction;

namespace ImageSimilarity.TestSupport;

/// <summary>
/// A random-weight VGG16 safetensors file written from C#, for tests that need a loadable model but not the
/// reference numbers (the CLI tests): no Python needed. Written once per test run (277 MB in float16).
/// </summary>
internal static class TestWeights
{
    private static readonly Lazy<string> File16 = new(() => Write(seed: 16), LazyThreadSafetyMode.ExecutionAndPublication);
    private static TempDirectory? _directory;

    /// <summary>Gets the path of the file (torchvision names, float16, He-uniform weights, zero biases).</summary>
    public static string RandomVgg16 => File16.Value;

    private static string Write(int seed)
    {
        _directory = TestPaths.CreateTempDirectory("imgsim-weights");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => _directory.Dispose();
        var path = _directory.Combine("vgg16-random-f16.safetensors");
        var tensors = Vgg16Network.ExpectedParameters;

        // Header: {"name": {"dtype", "shape", "data_offsets": [begin, end]}} relative to the end of the header.
        var header = new Dictionary<string, object>();
        long offset = 0;
        foreach (var (name, shape) in tensors)
        {
            var bytes = shape.Aggregate(1L, (a, b) => a * b) * 2;
            header[name] = new { dtype = "F16", shape, data_offsets = new[] { offset, offset + bytes } };
            offset += bytes;
        }

        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(length, json.Length);
        stream.Write(length);
        stream.Write(json);
        var random = new Random(seed);
        var buffer = new Half[1 << 20];
        foreach (var (name, shape) in tensors)
        {
            var count = shape.Aggregate(1L, (a, b) => a * b);

            // He-uniform weights keep the activations' scale through 15 ReLU layers, so fc2 is not all zero.
            var fanIn = shape.Length > 1 ? shape.Skip(1).Aggregate(1L, (a, b) => a * b) : 0;
            var bound = fanIn > 0 ? (float)Math.Sqrt(6.0 / fanIn) : 0f;
            for (long done = 0; done < count;)
            {
                var n = (int)Math.Min(buffer.Length, count - done);
                for (var i = 0; i < n; i++)
                {
                    buffer[i] = (Half)(((random.NextSingle() * 2) - 1) * bound);
                }

                stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(buffer.AsSpan(0, n)));
                done += n;
            }
        }

        return path;
    }
}
