using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace ImageSimilarity.PgVector.Benchmarks;

/// <summary>
/// A seeded random VGG16 (up to fc2) as float32 safetensors with torchvision's names: He-scaled uniform weights, zero
/// biases, so activations keep their scale through the ReLUs and fc2 features are sparse and non-negative like real ones.
/// </summary>
internal static class RandomVgg16Weights
{
    public static void Write(string path, int seed)
    {
        var tensors = new List<(string Name, long[] Shape)>();
        int[] channels = [64, 64, -1, 128, 128, -1, 256, 256, 256, -1, 512, 512, 512, -1, 512, 512, 512];
        int index = 0, input = 3;
        foreach (var c in channels)
        {
            if (c < 0)
            {
                index++;
                continue;
            }

            tensors.Add(($"features.{index}.weight", [c, input, 3, 3]));
            tensors.Add(($"features.{index}.bias", [c]));
            input = c;
            index += 2;
        }

        tensors.Add(("classifier.0.weight", [4096, 25088]));
        tensors.Add(("classifier.0.bias", [4096]));
        tensors.Add(("classifier.3.weight", [4096, 4096]));
        tensors.Add(("classifier.3.bias", [4096]));

        var header = new StringBuilder("{");
        long offset = 0;
        foreach (var (name, shape) in tensors)
        {
            var bytes = shape.Aggregate(1L, (a, b) => a * b) * sizeof(float);
            header.Append(CultureInfo.InvariantCulture, $"\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{string.Join(',', shape)}],\"data_offsets\":[{offset},{offset + bytes}]}},");
            offset += bytes;
        }

        header[^1] = '}';
        while (header.Length % 8 != 0)
        {
            header.Append(' ');
        }

        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var length = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(length, header.Length);
        file.Write(length);
        file.Write(Encoding.ASCII.GetBytes(header.ToString()));
        var random = new Random(seed);
        var buffer = new float[1 << 16];
        foreach (var (name, shape) in tensors)
        {
            var count = shape.Aggregate(1L, (a, b) => a * b);
            var bound = name.EndsWith("bias", StringComparison.Ordinal) ? 0f : MathF.Sqrt(6f / shape.Skip(1).Aggregate(1L, (a, b) => a * b));
            for (long done = 0; done < count; done += buffer.Length)
            {
                var n = (int)Math.Min(buffer.Length, count - done);
                for (var i = 0; i < n; i++)
                {
                    buffer[i] = bound * (float)((random.NextDouble() * 2) - 1);
                }

                file.Write(MemoryMarshal.AsBytes(buffer.AsSpan(0, n)));
            }
        }
    }
}
