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

    /// <summary>The number of 3x3 convolutions (each followed by a ReLU whose output range calibration measures).</summary>
    public const int ConvolutionCount = 13;

    /// <summary>Builds the serialised model; every weight is stored as float32.</summary>
    /// <param name="plan">The weights.</param>
    /// <param name="exposeActivations">Also output the image input's pass-through and every convolution's ReLU output (<see cref="ActivationName"/>), for calibration.</param>
    public static byte[] Build(IReadOnlyDictionary<string, WeightTensor> plan, bool exposeActivations = false) => Build(plan, exposeActivations, null);

    /// <summary>
    /// Builds the int8 model in QDQ form: the 13 convolutions' weights quantised per output channel (symmetric int8),
    /// their biases to int32, their inputs and ReLU outputs quantised to uint8 with the calibrated ranges; ONNX Runtime
    /// fuses each DequantizeLinear → Conv → Relu → QuantizeLinear into an integer convolution. fc1 and fc2 stay fp32
    /// (at batch 8 they are under 1 % of the arithmetic).
    /// </summary>
    /// <param name="plan">The weights.</param>
    /// <param name="ranges">The input's (min, max) then each convolution ReLU's (0, max), from calibration.</param>
    public static byte[] BuildInt8(IReadOnlyDictionary<string, WeightTensor> plan, IReadOnlyList<(float Min, float Max)> ranges)
    {
        if (ranges.Count != ConvolutionCount + 1)
        {
            throw new ArgumentException($"{ConvolutionCount + 1} activation ranges are needed, {ranges.Count} were given.", nameof(ranges));
        }

        return Build(plan, false, ranges);
    }

    /// <summary>The name of the calibration output for activation <paramref name="i"/> (0: the input, 1-13: the convolutions' ReLU outputs).</summary>
    public static string ActivationName(int i) => i == 0 ? "calibration.input" : $"calibration.relu{i}";

    private static byte[] Build(IReadOnlyDictionary<string, WeightTensor> plan, bool exposeActivations, IReadOnlyList<(float Min, float Max)>? ranges)
    {
        var graph = new GraphProto { Name = ranges is null ? "vgg16-fc2" : "vgg16-fc2-int8" };
        graph.Input.Add(Value(InputName, [-1, 3, 224, 224]));
        graph.Output.Add(Value(OutputName, [-1, Vgg16Network.FeatureDimension]));
        if (exposeActivations)
        {
            Node(graph, "Identity", "calibration", [InputName], null, ActivationName(0));
            graph.Output.Add(Value(ActivationName(0), [-1, 3, 224, 224]));
        }

        var current = InputName;
        var index = 0;
        var conv = 0;
        (float Scale, byte ZeroPoint) quant = default;
        if (ranges is not null)
        {
            quant = UInt8Params(ranges[0]);
            current = QuantDequant(graph, current, "input", quant);
        }

        foreach (var channels in Vgg16Network.Configuration)
        {
            if (channels == 0)
            {
                current = Node(graph, "MaxPool", $"features.{index}", [current], a =>
                {
                    a.Add(Ints("kernel_shape", 2, 2));
                    a.Add(Ints("strides", 2, 2));
                });
                if (ranges is not null && conv < ConvolutionCount)
                {
                    // The pooled values keep the scale of the ReLU output they come from.
                    current = QuantDequant(graph, current, $"features.{index}", quant);
                }

                index++;
                continue;
            }

            string weight, bias;
            if (ranges is null)
            {
                weight = Initializer(graph, plan, $"features.{index}.weight");
                bias = Initializer(graph, plan, $"features.{index}.bias");
            }
            else
            {
                (weight, bias) = QuantizedConvWeights(graph, plan, $"features.{index}", quant.Scale);
            }

            current = Node(graph, "Conv", $"features.{index}", [current, weight, bias], a =>
            {
                a.Add(Ints("kernel_shape", 3, 3));
                a.Add(Ints("pads", 1, 1, 1, 1));
                a.Add(Ints("strides", 1, 1));
            });
            current = Node(graph, "Relu", $"features.{index + 1}", [current], null);
            conv++;
            if (exposeActivations)
            {
                Node(graph, "Identity", $"calibration{conv}", [current], null, ActivationName(conv));
                graph.Output.Add(Value(ActivationName(conv), null));
            }

            if (ranges is not null)
            {
                quant = UInt8Params(ranges[conv]);
                current = QuantDequant(graph, current, $"features.{index + 1}", quant);
            }

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
        var bytes = ReadFloat32Bytes(plan[name]);

        // timm's conv-shaped fc weights ([4096, 512, 7, 7]) hold the same values in the same order as [4096, 25088].
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = UnsafeByteOperations.UnsafeWrap(bytes) };
        tensor.Dims.Add(expected);
        graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>uint8 scale and zero point covering [min, max] (and 0, so that zero padding and ReLU's zeros are exact).</summary>
    private static (float Scale, byte ZeroPoint) UInt8Params((float Min, float Max) range)
    {
        var min = Math.Min(0f, range.Min);
        var max = Math.Max(0f, range.Max);
        var scale = max > min ? (max - min) / 255f : 1f;
        var zeroPoint = (byte)Math.Clamp(Math.Round(-min / scale), 0, 255);
        return (scale, zeroPoint);
    }

    private static string QuantDequant(GraphProto graph, string input, string name, (float Scale, byte ZeroPoint) quant)
    {

        var scale = Scalar(graph, name + ".act_scale", quant.Scale);
        var zeroPoint = new TensorProto { Name = name + ".act_zero_point", DataType = (int)TensorProto.Types.DataType.Uint8, RawData = ByteString.CopyFrom(quant.ZeroPoint) };
        graph.Initializer.Add(zeroPoint);
        var quantized = Node(graph, "QuantizeLinear", name + ".act", [input, scale, zeroPoint.Name], null);
        return Node(graph, "DequantizeLinear", name + ".act", [quantized, scale, zeroPoint.Name], null);
    }

    /// <summary>The weights quantised per output channel to int8 (symmetric, ±127) and the bias to int32 at input scale x weight scale, each behind a DequantizeLinear.</summary>
    private static (string Weight, string Bias) QuantizedConvWeights(GraphProto graph, IReadOnlyDictionary<string, WeightTensor> plan, string layer, float inputScale)
    {
        var shape = Vgg16Network.ExpectedParameters.First(p => p.Name == layer + ".weight").Shape;
        var weights = MemoryMarshal.Cast<byte, float>(ReadFloat32Bytes(plan[layer + ".weight"])).ToArray();
        var biases = MemoryMarshal.Cast<byte, float>(ReadFloat32Bytes(plan[layer + ".bias"])).ToArray();
        var outputs = (int)shape[0];
        var perChannel = weights.Length / outputs;
        var scales = new float[outputs];
        var quantized = new byte[weights.Length];
        var biasScales = new float[outputs];
        var quantizedBias = new int[outputs];
        for (var c = 0; c < outputs; c++)
        {
            var slice = weights.AsSpan(c * perChannel, perChannel);
            var maxAbs = Math.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(slice)); // the element, possibly negative
            scales[c] = maxAbs > 0 ? maxAbs / 127f : 1f;
            for (var i = 0; i < perChannel; i++)
            {
                quantized[(c * perChannel) + i] = unchecked((byte)(sbyte)Math.Clamp(MathF.Round(slice[i] / scales[c]), -127f, 127f));
            }

            biasScales[c] = inputScale * scales[c];
            quantizedBias[c] = (int)Math.Clamp(Math.Round(biases[c] / (double)biasScales[c]), int.MinValue, int.MaxValue);
        }

        var weight = new TensorProto { Name = layer + ".weight_int8", DataType = (int)TensorProto.Types.DataType.Int8, RawData = ByteString.CopyFrom(quantized) };
        weight.Dims.Add(shape);
        graph.Initializer.Add(weight);
        var weightScale = Vector(graph, layer + ".weight_scale", scales);
        var weightZero = new TensorProto { Name = layer + ".weight_zero_point", DataType = (int)TensorProto.Types.DataType.Int8, RawData = ByteString.CopyFrom(new byte[outputs]) };
        weightZero.Dims.Add(outputs);
        graph.Initializer.Add(weightZero);
        var bias = new TensorProto { Name = layer + ".bias_int32", DataType = (int)TensorProto.Types.DataType.Int32, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(quantizedBias.AsSpan())) };
        bias.Dims.Add(outputs);
        graph.Initializer.Add(bias);
        var biasScale = Vector(graph, layer + ".bias_scale", biasScales);
        var biasZero = new TensorProto { Name = layer + ".bias_zero_point", DataType = (int)TensorProto.Types.DataType.Int32, RawData = ByteString.CopyFrom(new byte[outputs * sizeof(int)]) };
        biasZero.Dims.Add(outputs);
        graph.Initializer.Add(biasZero);
        var perAxis = (Action<Google.Protobuf.Collections.RepeatedField<AttributeProto>>)(a => a.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 0 }));
        return (
            Node(graph, "DequantizeLinear", layer + ".weight", [weight.Name, weightScale, weightZero.Name], perAxis),
            Node(graph, "DequantizeLinear", layer + ".bias", [bias.Name, biasScale, biasZero.Name], perAxis));
    }

    private static string Scalar(GraphProto graph, string name, float value)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(BitConverter.GetBytes(value)) };
        graph.Initializer.Add(tensor);
        return name;
    }

    private static string Vector(GraphProto graph, string name, float[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
        tensor.Dims.Add(values.Length);
        graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>The tensor's values as float32 bytes in the model's layout (torchvision's [out, in, kh, kw] and [out, in]).</summary>
    private static byte[] ReadFloat32Bytes(WeightTensor source)
    {
        if (source.DType == WeightDType.Float32 && source.LayoutTransform is null)
        {
            var bytes = GC.AllocateUninitializedArray<byte>(checked((int)source.ByteLength));
            source.ReadInto(bytes);
            return bytes;
        }

        // Other element types, and Keras' [kh, kw, in, out] / [in, out] layouts, go through the core's conversion.
        return MemoryMarshal.AsBytes(Vgg16StateDictMapper.ReadAsFloat32(source).AsSpan()).ToArray();
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

    private static ValueInfoProto Value(string name, long[]? shape)
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float };
        if (shape is null)
        {
            return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
        }

        tensor.Shape = new TensorShapeProto();
        foreach (var d in shape)
        {
            tensor.Shape.Dim.Add(d < 0 ? new TensorShapeProto.Types.Dimension { DimParam = OnnxModelFile.DynamicBatchName } : new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }
}
