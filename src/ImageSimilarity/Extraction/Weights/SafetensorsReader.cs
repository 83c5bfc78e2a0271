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
            var ranges = new List<(long Begin, long End, string Name)>();
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
                    long expected;
                    try
                    {
                        expected = checked(shape.Aggregate(1L, (a, b) => checked(a * b)) * WeightDTypes.SizeOf(dtype));
                    }
                    catch (OverflowException)
                    {
                        problems.Add($"'{p.Name}' has a shape {WeightTensor.FormatShape(shape)} too large to address");
                        continue;
                    }

                    if (length != expected)
                    {
                        problems.Add($"'{p.Name}' declares {length:N0} bytes of data but its shape {WeightTensor.FormatShape(shape)} of {WeightDTypes.Name(dtype)} needs {expected:N0}");
                        continue;
                    }

                    var storage = new FileRangeStorage(handle, fileName, $"tensor '{p.Name}'", dataStart + offsets[0], length, fileLength);
                    tensors.Add(WeightTensor.Create(path, p.Name, dtype, shape, RowMajorStrides(shape), 0, storage));
                    ranges.Add((offsets[0], offsets[1], p.Name));
                }
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
            {
                throw new WeightsFileException(path, [$"the safetensors header is not valid JSON of the expected form ({ex.Message})"], ex);
            }

            if (problems.Count == 0)
            {
                CheckLayout(ranges, fileLength - dataStart, problems);
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

    /// <summary>
    /// Checks what the safetensors format requires of the data section: the tensors' byte ranges do not overlap and
    /// together cover it exactly, with no gap and nothing after the last tensor (as the reference implementation checks).
    /// </summary>
    private static void CheckLayout(List<(long Begin, long End, string Name)> ranges, long dataLength, List<string> problems)
    {
        ranges.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long covered = 0;
        string? previous = null;
        foreach (var (begin, end, name) in ranges)
        {
            if (begin < covered)
            {
                problems.Add($"'{name}' (bytes {begin:N0}-{end:N0}) overlaps '{previous}' (which ends at {covered:N0}); tensors must not share bytes");
                return;
            }

            if (begin > covered)
            {
                problems.Add($"the data section has a gap of {begin - covered:N0} bytes before '{name}'; tensors must cover it exactly");
                return;
            }

            covered = end;
            previous = name;
        }

        if (covered < dataLength)
        {
            problems.Add($"the data section holds {dataLength - covered:N0} bytes after the last tensor; tensors must cover it exactly");
        }
        else if (covered > dataLength)
        {
            problems.Add($"the file is truncated: the tensors need {covered:N0} bytes of data but the file holds {dataLength:N0}");
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
