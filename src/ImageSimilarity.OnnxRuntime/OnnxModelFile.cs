using Google.Protobuf;
using Onnx;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>
/// Reads an ONNX file, checks its image input against the spec, and gives the bytes ONNX Runtime loads: with the
/// batch dimension made dynamic when the file fixes it to 1 (CNTK and many exports do), so one run takes a batch.
/// </summary>
internal sealed class OnnxModelFile
{
    public const string DynamicBatchName = "N";

    private OnnxModelFile(string path, ModelProto model, string inputName, string outputName, bool batchMadeDynamic, bool batchIsDynamic)
    {
        Path = path;
        Model = model;
        InputName = inputName;
        OutputName = outputName;
        BatchMadeDynamic = batchMadeDynamic;
        BatchIsDynamic = batchIsDynamic;
    }

    public string Path { get; }

    public ModelProto Model { get; }

    public string InputName { get; }

    public string OutputName { get; }

    /// <summary>Gets a value indicating whether the file fixed the batch to 1 and this class changed it to a symbol.</summary>
    public bool BatchMadeDynamic { get; }

    /// <summary>Gets a value indicating whether the graph (as given to ONNX Runtime) takes any batch size.</summary>
    public bool BatchIsDynamic { get; }

    /// <summary>Parses and checks a model file.</summary>
    /// <exception cref="OnnxModelException">Missing, not ONNX, or the input/output does not match the spec.</exception>
    public static OnnxModelFile Read(string path, OnnxModelSpec spec, bool makeBatchDynamic)
    {
        if (!File.Exists(path))
        {
            throw new OnnxModelException(path, $"The ONNX model file '{path}' does not exist. Check the path (it is resolved against the current directory '{Environment.CurrentDirectory}').");
        }

        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw NotOnnx(path, "it is not a valid ONNX protobuf (" + ex.Message + ")", ex);
        }
        catch (IOException ex)
        {
            throw new OnnxModelException(path, $"The ONNX model file '{path}' cannot be read: {ex.Message}", ex);
        }

        // Protobuf parses many byte strings without complaint; an ONNX model has an IR version, an opset and a graph.
        if (model.IrVersion <= 0 || model.OpsetImport.Count == 0 || model.Graph is null || model.Graph.Node.Count == 0)
        {
            throw NotOnnx(path, "it has no IR version, opset or graph nodes", null);
        }

        var graph = model.Graph;
        var initializers = new HashSet<string>(graph.Initializer.Select(i => i.Name), StringComparer.Ordinal);
        var imageInputs = graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
        ValueInfoProto input;
        if (spec.InputName is null)
        {
            if (imageInputs.Count != 1)
            {
                throw new OnnxModelException(path, $"The ONNX model '{path}' has {imageInputs.Count} inputs ({Names(imageInputs)}); set OnnxModelSpec.InputName to the image input.");
            }

            input = imageInputs[0];
        }
        else
        {
            input = imageInputs.FirstOrDefault(i => i.Name == spec.InputName)
                ?? throw new OnnxModelException(path, $"The ONNX model '{path}' has no input named '{spec.InputName}'; its inputs are {Names(imageInputs)}. Fix OnnxModelSpec.InputName.");
        }

        ValueInfoProto output;
        if (spec.OutputName is null)
        {
            output = graph.Output.FirstOrDefault()
                ?? throw NotOnnx(path, "its graph has no outputs", null);
        }
        else
        {
            output = graph.Output.FirstOrDefault(o => o.Name == spec.OutputName)
                ?? throw new OnnxModelException(path, $"The ONNX model '{path}' has no output named '{spec.OutputName}'; its outputs are {Names(graph.Output)}. Fix OnnxModelSpec.OutputName.");
        }

        CheckInput(path, input, spec);
        var batch = input.Type.TensorType.Shape.Dim[0];
        var fixedToOne = batch.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && batch.DimValue == 1;
        var madeDynamic = false;
        if (fixedToOne && makeBatchDynamic)
        {
            MakeBatchDynamic(graph, input);
            madeDynamic = true;
        }

        return new OnnxModelFile(path, model, input.Name, output.Name, madeDynamic, !fixedToOne || madeDynamic);
    }

    public byte[] ToBytes() => Model.ToByteArray();

    private static void CheckInput(string path, ValueInfoProto input, OnnxModelSpec spec)
    {
        var tensor = input.Type?.TensorType;
        if (tensor is null)
        {
            throw new OnnxModelException(path, $"The input '{input.Name}' of the ONNX model '{path}' is not a tensor; an image model takes a float tensor.");
        }

        if (tensor.ElemType != (int)TensorProto.Types.DataType.Float)
        {
            throw new OnnxModelException(path, $"The input '{input.Name}' of the ONNX model '{path}' has element type {(TensorProto.Types.DataType)tensor.ElemType}; only float (fp32) image inputs are supported.");
        }

        var dims = tensor.Shape?.Dim;
        var expected = spec.Layout == TensorLayout.Nchw
            ? new long[] { -1, 3, spec.InputSize, spec.InputSize }
            : [-1, spec.InputSize, spec.InputSize, 3];
        var expectedText = spec.Layout == TensorLayout.Nchw ? $"[N, 3, {spec.InputSize}, {spec.InputSize}] (NCHW)" : $"[N, {spec.InputSize}, {spec.InputSize}, 3] (NHWC)";
        if (dims is null || dims.Count != 4)
        {
            throw new OnnxModelException(path, $"The input '{input.Name}' of the ONNX model '{path}' has shape {Shape(dims)}, but the spec describes {expectedText}. Only 4-d image inputs are supported.");
        }

        for (var i = 1; i < 4; i++)
        {
            var d = dims[i];
            if (d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue != expected[i])
            {
                throw new OnnxModelException(path, $"The input '{input.Name}' of the ONNX model '{path}' has shape {Shape(dims)}, but the spec describes {expectedText}. Set OnnxModelSpec.InputSize and Layout to match the model.");
            }
        }

        var batch = dims[0];
        if (batch.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && batch.DimValue != 1)
        {
            throw new OnnxModelException(path, $"The input '{input.Name}' of the ONNX model '{path}' has a fixed batch of {batch.DimValue}; export it with a batch of 1 or a dynamic batch.");
        }
    }

    /// <summary>
    /// Gives the image input and every output a symbolic leading dimension, drops the recorded intermediate shapes
    /// (ONNX Runtime infers them again), and turns a leading 1 in constant Reshape targets into 0 ("copy the batch").
    /// </summary>
    private static void MakeBatchDynamic(GraphProto graph, ValueInfoProto input)
    {
        SetBatch(input);
        foreach (var output in graph.Output)
        {
            var dims = output.Type?.TensorType?.Shape?.Dim;
            if (dims is { Count: > 0 } && dims[0].ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && dims[0].DimValue == 1)
            {
                SetBatch(output);
            }
        }

        graph.ValueInfo.Clear();
        var initializers = graph.Initializer.ToDictionary(i => i.Name, StringComparer.Ordinal);
        foreach (var node in graph.Node.Where(n => n.OpType == "Reshape" && n.Input.Count == 2))
        {
            if (initializers.TryGetValue(node.Input[1], out var shape) && shape.DataType == (int)TensorProto.Types.DataType.Int64)
            {
                if (shape.Int64Data.Count > 0 && shape.Int64Data[0] == 1)
                {
                    shape.Int64Data[0] = 0;
                }
                else if (shape.RawData.Length >= 8 && BitConverter.ToInt64(shape.RawData.Span[..8]) == 1)
                {
                    var raw = shape.RawData.ToByteArray();
                    BitConverter.TryWriteBytes(raw.AsSpan(0, 8), 0L);
                    shape.RawData = ByteString.CopyFrom(raw);
                }
            }
        }
    }

    private static void SetBatch(ValueInfoProto value)
    {
        var dim = value.Type.TensorType.Shape.Dim[0];
        dim.ClearValue();
        dim.DimParam = DynamicBatchName;
    }

    private static OnnxModelException NotOnnx(string path, string why, Exception? inner)
        => new(path, $"The file '{path}' is not an ONNX model: {why}. Check that the file is complete, or export the model again (e.g. torch.onnx.export).", inner);

    private static string Names(IEnumerable<ValueInfoProto> values)
    {
        var names = values.Select(v => $"'{v.Name}' {Shape(v.Type?.TensorType?.Shape?.Dim)}").ToList();
        return names.Count == 0 ? "(none)" : string.Join(", ", names);
    }

    private static string Shape(IEnumerable<TensorShapeProto.Types.Dimension>? dims)
        => dims is null ? "[?]" : "[" + string.Join(", ", dims.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture) : (string.IsNullOrEmpty(d.DimParam) ? "?" : d.DimParam))) + "]";
}
