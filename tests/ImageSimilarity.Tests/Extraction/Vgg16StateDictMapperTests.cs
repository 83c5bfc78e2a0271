using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using ImageSimilarity.Extraction.Weights;
using ImageSimilarity.TestSupport;

namespace ImageSimilarity.Extraction;

public sealed class Vgg16StateDictMapperTests
{
    [Fact]
    public void Plan_TorchvisionNames_MapsEveryParameterAndIgnoresTheHead()
    {
        var tensors = Expected().Select(e => Fake(e.Name, e.Shape)).Append(Fake("classifier.6.weight", [1000, 4096])).ToList();
        using var sd = new StateDict("/x/vgg.pth", "test", tensors, null);
        var plan = Vgg16StateDictMapper.Plan(sd);
        Assert.Equal(30, plan.Count);
    }

    [Fact]
    public void Plan_TimmNames_MapsConvShapedFcWeightsToTheLinearLayers()
    {
        var tensors = Expected().Select(e => e.Name switch
        {
            "classifier.0.weight" => Fake("pre_logits.fc1.weight", [4096, 512, 7, 7]),
            "classifier.0.bias" => Fake("pre_logits.fc1.bias", [4096]),
            "classifier.3.weight" => Fake("pre_logits.fc2.weight", [4096, 4096, 1, 1]),
            "classifier.3.bias" => Fake("pre_logits.fc2.bias", [4096]),
            _ => Fake(e.Name, e.Shape),
        }).Append(Fake("head.fc.weight", [1000, 4096])).ToList();
        using var sd = new StateDict("/x/vgg.safetensors", "test", tensors, null);
        var plan = Vgg16StateDictMapper.Plan(sd);
        Assert.Equal("pre_logits.fc1.weight", plan["classifier.0.weight"].Name);
        Assert.Equal("pre_logits.fc2.bias", plan["classifier.3.bias"].Name);
    }

    [Fact]
    public void Plan_EveryKindOfProblem_ListsEachOneExactly()
    {
        var tensors = new List<WeightTensor>();
        foreach (var (name, shape) in Expected())
        {
            tensors.Add(name switch
            {
                "features.0.bias" => null!,
                "features.2.weight" => Fake(name, [64, 64, 5, 5]),
                "classifier.3.bias" => Fake(name, shape, WeightDType.Int64),
                "features.28.weight" => Fake(name, shape, available: 1000),
                _ => Fake(name, shape),
            });
        }

        tensors.RemoveAll(t => t is null);
        tensors.Add(Fake("features.1.running_mean", [64]));
        using var sd = new StateDict("/x/bad.pth", "test", tensors, null);
        var ex = Assert.Throws<WeightsFileException>(() => Vgg16StateDictMapper.Plan(sd));
        Assert.Equal("/x/bad.pth", ex.FilePath);
        Assert.Equal(
            [
                "missing key 'features.0.bias' (shape [64])",
                "'features.2.weight' has shape [64, 64, 5, 5], expected [64, 64, 3, 3]",
                "the file is truncated: 'features.28.weight' needs 9,437,184 bytes of fake storage but only 1,000 are present",
                "'classifier.3.bias' has dtype int64, expected float32 (or float16/bfloat16/float64)",
                "unexpected key 'features.1.running_mean' (shape [64]): this is not a plain VGG16",
            ],
            ex.Problems);
        Assert.Contains("5 problems", ex.Message, StringComparison.Ordinal);
        Assert.Contains("/x/bad.pth", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_SafetensorsHeaderWithoutData_SaysTheFileIsTruncated()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("vgg.safetensors");
        var header = new Dictionary<string, object>();
        long offset = 0;
        foreach (var (name, shape) in Expected().Where(e => e.Name != "classifier.0.bias"))
        {
            var bytes = shape.Aggregate(1L, (a, b) => a * b) * 4;
            header[name] = new { dtype = "F32", shape, data_offsets = new[] { offset, offset + bytes } };
            offset += bytes;
        }

        WriteSafetensors(path, header, new byte[1024]);
        var ex = Assert.Throws<WeightsFileException>(() => WeightsFileReader.Open(path));
        Assert.Equal(path, ex.FilePath);
        Assert.Equal([$"the file is truncated: the tensors need {offset:N0} bytes of data but the file holds 1,024"], ex.Problems);
    }

    [Fact]
    public void Open_SafetensorsWithBadEntries_ListsThem()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("bad.safetensors");
        var header = new Dictionary<string, object>
        {
            ["a"] = new { dtype = "F8_E4M3", shape = new[] { 2 }, data_offsets = new[] { 0, 2 } },
            ["b"] = new { dtype = "F32", shape = new[] { 3 }, data_offsets = new[] { 0, 8 } },
        };
        WriteSafetensors(path, header, new byte[16]);
        var ex = Assert.Throws<WeightsFileException>(() => WeightsFileReader.Open(path));
        Assert.Equal(
            ["'a' has the unsupported dtype 'F8_E4M3'", "'b' declares 8 bytes of data but its shape [3] of float32 needs 12"],
            ex.Problems);
    }

    [Fact]
    public void Open_SafetensorsWithHugeHeaderLength_IsRefusedBeforeAllocating()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("huge.safetensors");
        var bytes = new byte[64];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue / 2);
        bytes[8] = (byte)'{';
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<WeightsFileException>(() => WeightsFileReader.Open(path));
        Assert.Contains("header claims", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_UnknownFormatOrMissingFile_SaysSo()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("weights.h5");
        File.WriteAllBytes(path, "\x89HDF\r\n\x1a\n........"u8.ToArray());
        Assert.Contains("format is not recognised", Assert.Throws<WeightsFileException>(() => WeightsFileReader.Open(path)).Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", Assert.Throws<WeightsFileException>(() => WeightsFileReader.Open(dir.Combine("nope.pth"))).Message, StringComparison.Ordinal);
    }

    internal static void WriteSafetensors(string path, object header, byte[] data)
    {
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        var length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)json.Length);
        File.WriteAllBytes(path, [.. length, .. json, .. data]);
    }

    private static IReadOnlyList<(string Name, long[] Shape)> Expected() => Vgg16Network.ExpectedParameters;

    private static WeightTensor Fake(string name, long[] shape, WeightDType dtype = WeightDType.Float32, long? available = null)
    {
        var bytes = shape.Aggregate(1L, (a, b) => a * b) * WeightDTypes.SizeOf(dtype);
        return new WeightTensor(name, dtype, shape, SafetensorsReader.RowMajorStrides(shape), 0, new FakeStorage(bytes, available ?? bytes));
    }

    private sealed class FakeStorage(long length, long available) : WeightStorage("fake storage", length, available)
    {
        public override void Read(long byteOffset, Span<byte> destination) => destination.Clear();
    }
}
