using Google.Protobuf;
using Onnx;

namespace ImageSimilarity.TestSupport;

/// <summary>Small real ONNX models written with the ONNX protobuf classes, for the spec and error tests.</summary>
internal static class TinyModels
{
    /// <summary>x [batch, 3, size, size] -> GlobalAveragePool -> (optional Reshape to [1, 3]) -> y: the channel means of the input.</summary>
    public static void WriteChannelMeans(string path, int size, long batch = 1, bool reshape = false, bool nhwc = false)
    {
        var graph = new GraphProto { Name = "channel-means" };
        long[] inputShape = nhwc ? [batch, size, size, 3] : [batch, 3, size, size];
        graph.Input.Add(Value("x", inputShape));
        var pooledInput = "x";
        if (nhwc)
        {
            var transpose = new NodeProto { OpType = "Transpose", Name = "to_nchw" };
            transpose.Input.Add("x");
            transpose.Output.Add("x_nchw");
            transpose.Attribute.Add(new AttributeProto { Name = "perm", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 0, 3, 1, 2 } });
            graph.Node.Add(transpose);
            pooledInput = "x_nchw";
        }

        var pool = new NodeProto { OpType = "GlobalAveragePool", Name = "pool" };
        pool.Input.Add(pooledInput);
        pool.Output.Add(reshape ? "pooled" : "y");
        graph.Node.Add(pool);
        if (reshape)
        {
            var shape = new TensorProto { Name = "shape", DataType = (int)TensorProto.Types.DataType.Int64 };
            shape.Dims.Add(2);
            shape.Int64Data.Add([1, 3]);
            graph.Initializer.Add(shape);
            var node = new NodeProto { OpType = "Reshape", Name = "flatten" };
            node.Input.Add("pooled");
            node.Input.Add("shape");
            node.Output.Add("y");
            graph.Node.Add(node);
            graph.Output.Add(Value("y", [1, 3]));
        }
        else
        {
            graph.Output.Add(Value("y", [batch, 3, 1, 1]));
        }

        var model = new ModelProto { IrVersion = 7, ProducerName = "ImageSimilarity.OnnxRuntime.Tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = 13 });
        File.WriteAllBytes(path, model.ToByteArray());
    }

    private static ValueInfoProto Value(string name, long[] shape)
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = new TensorShapeProto() };
        foreach (var d in shape)
        {
            tensor.Shape.Dim.Add(d < 0 ? new TensorShapeProto.Types.Dimension { DimParam = "batch" } : new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }
}
