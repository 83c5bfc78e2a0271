using System.Runtime.InteropServices;
using Google.Protobuf;
using ImageSimilarity.Extraction;
using ImageSimilarity.Extraction.Weights;
using Onnx;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>
/// Builds torchvision's VGG16 up to fc2 + ReLU as an ONNX graph (opset 13) from a state dict read by the core's weight
/// readers (torchvision .pth in zip or legacy format, safetensors with torchvision or timm names): 13 Conv 3x3 + Relu,
/// 5 MaxPool 2x2, Flatten, Gemm + Relu twice. The adaptive average pool to 7x7 is the identity for 224x224 inputs.
/// </summary>
internal static class Vgg16OnnxGraph
{
    public const string InputName = "input";
    public const string OutputName = "fc2";

    /// <summary>Builds the serialised model; every weight is stored as float32.</summary>
    public static byte[] Build(IReadOnlyDictionary<string, WeightTensor> plan)
    {
        var graph = new GraphProto { Name = "vgg16-fc2" };
        graph.Input.Add(Value(InputName, [-1, 3, 224, 224]));
        graph.Output.Add(Value(OutputName, [-1, Vgg16Network.FeatureDimension]));

        var current = InputName;
        var index = 0;
        foreach (var channels in Vgg16Network.Configuration)
        {
            if (channels == 0)
            {
                current = Node(graph, "MaxPool", $"features.{index}", [current], a =>
                {
                    a.Add(Ints("kernel_shape", 2, 2));
                    a.Add(Ints("strides", 2, 2));
                });
                index++;
                continue;
            }

            var weight = Initializer(graph, plan, $"features.{index}.weight");
            var bias = Initializer(graph, plan, $"features.{index}.bias");
            current = Node(graph, "Conv", $"features.{index}", [current, weight, bias], a =>
            {
                a.Add(Ints("kernel_shape", 3, 3));
                a.Add(Ints("pads", 1, 1, 1, 1));
                a.Add(Ints("strides", 1, 1));
            });
            current = Node(graph, "Relu", $"features.{index + 1}", [current], null);
            index += 2;
        }

        current = Node(graph, "Flatten", "flatten", [current], a => a.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 1 }));
        foreach (var layer in new[] { "classifier.0", "classifier.3" })
        {
            var weight = Initializer(graph, plan, layer + ".weight");
            var bias = Initializer(graph, plan, layer + ".bias");
            current = Node(graph, "Gemm", layer, [current, weight, bias], a => a.Add(new AttributeProto { Name = "transB", Type = AttributeProto.Types.AttributeType.Int, I = 1 }));
            var relu = layer == "classifier.3" ? OutputName : null;
            current = Node(graph, "Relu", layer + ".relu", [current], null, relu);
        }

        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "ImageSimilarity.OnnxRuntime",
            ProducerVersion = typeof(Vgg16OnnxGraph).Assembly.GetName().Version?.ToString() ?? string.Empty,
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = 13 });
        return model.ToByteArray();
    }

    private static string Initializer(GraphProto graph, IReadOnlyDictionary<string, WeightTensor> plan, string name)
    {
        var expected = Vgg16Network.ExpectedParameters.First(p => p.Name == name).Shape;
        var source = plan[name];
        byte[] bytes;
        if (source.DType == WeightDType.Float32)
        {
            bytes = GC.AllocateUninitializedArray<byte>(checked((int)source.ByteLength));
            source.ReadInto(bytes);
        }
        else
        {
            bytes = MemoryMarshal.AsBytes(Vgg16StateDictMapper.ReadAsFloat32(source).AsSpan()).ToArray();
        }

        // timm's conv-shaped fc weights ([4096, 512, 7, 7]) hold the same values in the same order as [4096, 25088].
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = UnsafeByteOperations.UnsafeWrap(bytes) };
        tensor.Dims.Add(expected);
        graph.Initializer.Add(tensor);
        return name;
    }

    private static string Node(GraphProto graph, string op, string name, string[] inputs, Action<Google.Protobuf.Collections.RepeatedField<AttributeProto>>? attributes, string? output = null)
    {
        var node = new NodeProto { OpType = op, Name = name + "." + op };
        node.Input.Add(inputs);
        output ??= name + "." + op.ToLowerInvariant();
        node.Output.Add(output);
        attributes?.Invoke(node.Attribute);
        graph.Node.Add(node);
        return output;
    }

    private static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.Add(values);
        return attribute;
    }

    private static ValueInfoProto Value(string name, long[] shape)
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = new TensorShapeProto() };
        foreach (var d in shape)
        {
            tensor.Shape.Dim.Add(d < 0 ? new TensorShapeProto.Types.Dimension { DimParam = OnnxModelFile.DynamicBatchName } : new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }
}
