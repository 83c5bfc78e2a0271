using System.Buffers.Binary;
using System.Text.Json;

namespace ImageSimilarity.Extraction.Weights;

/// <summary>Reads a safetensors file: u64 little-endian header length, a JSON header, then the raw tensor data.</summary>
internal static class SafetensorsReader
{
    private const long MaxHeaderBytes = 100 * 1024 * 1024;

    public static StateDict Read(string path)
    {
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            var fileLength = RandomAccess.GetLength(handle);
            Span<byte> lengthBytes = stackalloc byte[8];
            if (fileLength < 8 || RandomAccess.Read(handle, lengthBytes, 0) != 8)
            {
                throw new WeightsFileException(path, ["the file is truncated: it has no safetensors header"]);
            }

            var headerLength = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes), long.MaxValue);
            if (headerLength > MaxHeaderBytes)
            {
                throw new WeightsFileException(path, [$"the safetensors header claims {headerLength:N0} bytes, more than the {MaxHeaderBytes:N0} allowed"]);
            }

            if (8 + headerLength > fileLength)
            {
                throw new WeightsFileException(path, [$"the file is truncated: the safetensors header needs {headerLength:N0} bytes but the file has {fileLength - 8:N0} after the length"]);
            }

            var header = new byte[headerLength];
            RandomAccess.Read(handle, header, 8);
            var dataStart = 8 + headerLength;
            var tensors = new List<WeightTensor>();
            var problems = new List<string>();
            var fileName = Path.GetFileName(path);
            try
            {
                using var doc = JsonDocument.Parse(header);
                foreach (var p in doc.RootElement.EnumerateObject())
                {
                    if (p.Name == "__metadata__")
                    {
                        continue;
                    }

                    var dtypeText = p.Value.GetProperty("dtype").GetString() ?? string.Empty;
                    var shape = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                    var offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                    if (WeightDTypes.FromSafetensors(dtypeText) is not { } dtype)
                    {
                        problems.Add($"'{p.Name}' has the unsupported dtype '{dtypeText}'");
                        continue;
                    }

                    if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || shape.Any(d => d < 0))
                    {
                        problems.Add($"'{p.Name}' has invalid data offsets or shape");
                        continue;
                    }

                    var length = offsets[1] - offsets[0];
                    var expected = shape.Aggregate(1L, (a, b) => a * b) * WeightDTypes.SizeOf(dtype);
                    if (length != expected)
                    {
                        problems.Add($"'{p.Name}' declares {length:N0} bytes of data but its shape {WeightTensor.FormatShape(shape)} of {WeightDTypes.Name(dtype)} needs {expected:N0}");
                        continue;
                    }

                    var storage = new FileRangeStorage(handle, fileName, $"tensor '{p.Name}'", dataStart + offsets[0], length, fileLength);
                    tensors.Add(new WeightTensor(p.Name, dtype, shape, RowMajorStrides(shape), 0, storage));
                }
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
            {
                throw new WeightsFileException(path, [$"the safetensors header is not valid JSON of the expected form ({ex.Message})"], ex);
            }

            if (problems.Count > 0)
            {
                throw new WeightsFileException(path, problems);
            }

            return new StateDict(path, "safetensors", tensors, handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    internal static long[] RowMajorStrides(long[] shape)
    {
        var stride = new long[shape.Length];
        long s = 1;
        for (var i = shape.Length - 1; i >= 0; i--)
        {
            stride[i] = s;
            s *= shape[i];
        }

        return stride;
    }
}
