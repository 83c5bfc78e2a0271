using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace SearchByImage.Web.TestSupport;

/// <summary>
/// Writes a VGG16 state dict (torchvision names, conv and fc1/fc2 layers) with seeded random weights as a bf16
/// safetensors file: a real weights file the library loads like any other, made without Python.
/// </summary>
/// <remarks>
/// He-uniform weights (bound sqrt(6 / fan-in)) and small positive biases keep the activations alive through the
/// 15 ReLU layers, so every image gets a non-zero fc2 vector and alike images get alike vectors.
/// </remarks>
internal static class RandomVgg16Weights
{
    private static readonly int[] Channels = [64, 64, -1, 128, 128, -1, 256, 256, 256, -1, 512, 512, 512, -1, 512, 512, 512, -1];

    public static void Write(string path, int seed = 20251126)
    {
        var tensors = new List<(string Name, long[] Shape, int FanIn)>();
        int index = 0, inChannels = 3;
        foreach (var c in Channels)
        {
            if (c < 0)
            {
                index++; // max pool
                continue;
            }

            tensors.Add(($"features.{index}.weight", [c, inChannels, 3, 3], inChannels * 9));
            tensors.Add(($"features.{index}.bias", [c], 0));
            inChannels = c;
            index += 2; // conv + ReLU
        }

        tensors.Add(("classifier.0.weight", [4096, 25088], 25088));
        tensors.Add(("classifier.0.bias", [4096], 0));
        tensors.Add(("classifier.3.weight", [4096, 4096], 4096));
        tensors.Add(("classifier.3.bias", [4096], 0));

        var header = new Dictionary<string, object>();
        long offset = 0;
        foreach (var (name, shape, _) in tensors)
        {
            var bytes = shape.Aggregate(1L, (a, b) => a * b) * 2;
            header[name] = new { dtype = "BF16", shape, data_offsets = new[] { offset, offset + bytes } };
            offset += bytes;
        }

        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)json.Length);
        file.Write(length);
        file.Write(json);

        var random = new Random(seed);
        var buffer = new byte[1 << 20];
        foreach (var (_, shape, fanIn) in tensors)
        {
            var count = shape.Aggregate(1L, (a, b) => a * b);
            var bound = fanIn > 0 ? MathF.Sqrt(6f / fanIn) : 0f;
            var used = 0;
            for (var i = 0L; i < count; i++)
            {
                var value = fanIn > 0 ? ((random.NextSingle() * 2f) - 1f) * bound : 0.01f;
                BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(used), (ushort)(BitConverter.SingleToUInt32Bits(value) >> 16));
                used += 2;
                if (used == buffer.Length)
                {
                    file.Write(buffer, 0, used);
                    used = 0;
                }
            }

            file.Write(buffer, 0, used);
        }
    }
}
