using Onnx;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>
/// The built-in pretrained ImageNet ResNet18 (512 floats: the global average pool before the classifier), from the
/// MIT-licensed NuGet package <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> 0.23.1: no download, works offline.
/// </summary>
/// <remarks>
/// <para>The package holds <c>ResNet18Onnx/ResNet18.onnx</c> (a CNTK export; input <c>Input247</c> [1,3,224,224], output
/// <c>Pooling395_Output_0</c> [1,512,1,1]) and <c>ResNetPrepOnnx/ResNetPreprocess.onnx</c> (RGB 0-255 in, reordered to BGR
/// minus a 3x224x224 mean image). This class runs the first with a dynamic batch and does the second's arithmetic
/// itself, with the mean image read from that file: resize the shorter side to 256 (Pillow's bilinear), centre crop
/// 224, BGR, minus the mean image.</para>
/// <para>The files are found in this order: the <c>modelDirectory</c> argument; the environment variable
/// <c>IMAGESIMILARITY_RESNET18_DIR</c>; <c>DnnImageModels/</c> beside the application (where the package's build
/// props copy them); the NuGet global packages folder.</para>
/// </remarks>
public static class ResNet18Model
{
    /// <summary>The name of the model in <see cref="OnnxFeatureExtractor.ModelId"/> and on the command line.</summary>
    public const string Name = "resnet18";

    /// <summary>The length of every feature vector.</summary>
    public const int FeatureDimension = 512;

    /// <summary>The environment variable naming a folder that holds the two model files.</summary>
    public const string DirectoryVariable = "IMAGESIMILARITY_RESNET18_DIR";

    /// <summary>The NuGet package the model files come from.</summary>
    public const string PackageId = "Microsoft.ML.DnnImageFeaturizer.ResNet18";

    /// <summary>The version of <see cref="PackageId"/> this library was built and tested with.</summary>
    public const string PackageVersion = "0.23.1";

    /// <summary>The network file, relative to the model folder.</summary>
    public const string ModelFile = "ResNet18Onnx/ResNet18.onnx";

    /// <summary>The preprocessing file (holding the mean image), relative to the model folder.</summary>
    public const string PreprocessFile = "ResNetPrepOnnx/ResNetPreprocess.onnx";

    internal const string InputName = "Input247";
    internal const string OutputName = "Pooling395_Output_0";
    internal const int InputSize = 224;

    /// <summary>Finds the folder that holds <see cref="ModelFile"/> and <see cref="PreprocessFile"/>.</summary>
    /// <param name="modelDirectory">A folder to use instead of searching; <see langword="null"/> to search.</param>
    /// <returns>The full path of the folder.</returns>
    /// <exception cref="OnnxModelException">The files are not found; the message lists where it looked and how to install them.</exception>
    public static string FindModelDirectory(string? modelDirectory = null)
    {
        var candidates = new List<string>();
        if (!string.IsNullOrWhiteSpace(modelDirectory))
        {
            candidates.Add(Path.GetFullPath(modelDirectory));
        }
        else
        {
            var fromEnvironment = Environment.GetEnvironmentVariable(DirectoryVariable);
            if (!string.IsNullOrWhiteSpace(fromEnvironment))
            {
                candidates.Add(Path.GetFullPath(fromEnvironment));
            }

            candidates.Add(Path.Combine(AppContext.BaseDirectory, "DnnImageModels"));
            var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
            if (string.IsNullOrWhiteSpace(packages))
            {
                packages = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            }

            candidates.Add(Path.Combine(packages, PackageId.ToLowerInvariant(), PackageVersion, "tools", "DnnImageModels"));
        }

        foreach (var candidate in candidates)
        {
            if (File.Exists(Path.Combine(candidate, ModelFile)) && File.Exists(Path.Combine(candidate, PreprocessFile)))
            {
                return candidate;
            }
        }

        var looked = string.Join("; ", candidates.Select(c => $"'{c}' ({Missing(c)})"));
        throw new OnnxModelException(
            $"The ResNet18 model files are not installed. Looked in: {looked}. Reference the NuGet package {PackageId} {PackageVersion} " +
            $"(ImageSimilarity.OnnxRuntime depends on it; its build props copy the files to DnnImageModels/ in the output folder), " +
            $"or set {DirectoryVariable} to a folder holding {ModelFile} and {PreprocessFile}.");
    }

    /// <summary>Builds the model's input description, with the mean image read from the package's preprocessing file.</summary>
    /// <param name="modelDirectory">The folder from <see cref="FindModelDirectory"/>; <see langword="null"/> to search.</param>
    /// <returns>The spec.</returns>
    /// <exception cref="OnnxModelException">The files are missing, or the preprocessing file is not the expected graph.</exception>
    public static OnnxModelSpec CreateSpec(string? modelDirectory = null)
    {
        var directory = FindModelDirectory(modelDirectory);
        return new OnnxModelSpec
        {
            Name = Name,
            InputName = InputName,
            OutputName = OutputName,
            InputSize = InputSize,
            ResizeShorterSide = 256,
            Layout = TensorLayout.Nchw,
            ChannelOrder = ChannelOrder.Bgr,
            PixelScale = 1f,
            Mean = [0f, 0f, 0f],
            Std = [1f, 1f, 1f],
            MeanImage = ReadMeanImage(Path.Combine(directory, PreprocessFile)),
            Pooling = OutputPooling.Flatten,
        };
    }

    /// <summary>Loads the pretrained ResNet18.</summary>
    /// <param name="options">Batch size, threads, decoding; <see langword="null"/> for <see cref="OnnxExtractorOptions.Default"/>.</param>
    /// <param name="modelDirectory">The folder holding the package's <c>DnnImageModels</c> files; <see langword="null"/> to search.</param>
    /// <returns>The extractor (512 floats per image); the caller disposes it.</returns>
    /// <exception cref="OnnxModelException">The model files are missing or damaged; the message says how to install them.</exception>
    public static OnnxFeatureExtractor Load(OnnxExtractorOptions? options = null, string? modelDirectory = null)
    {
        var directory = FindModelDirectory(modelDirectory);
        return OnnxFeatureExtractor.Load(Path.Combine(directory, ModelFile), CreateSpec(directory), options);
    }

    /// <summary>Loads the pretrained ResNet18 on a worker thread.</summary>
    /// <param name="options">Batch size, threads, decoding; <see langword="null"/> for <see cref="OnnxExtractorOptions.Default"/>.</param>
    /// <param name="modelDirectory">The folder holding the package's <c>DnnImageModels</c> files; <see langword="null"/> to search.</param>
    /// <param name="cancellationToken">Cancels before loading starts.</param>
    /// <returns>The extractor (512 floats per image); the caller disposes it.</returns>
    /// <exception cref="OnnxModelException">The model files are missing or damaged; the message says how to install them.</exception>
    /// <exception cref="OperationCanceledException">The operation was cancelled.</exception>
    public static Task<OnnxFeatureExtractor> LoadAsync(OnnxExtractorOptions? options = null, string? modelDirectory = null, CancellationToken cancellationToken = default)
        => Task.Run(() => Load(options, modelDirectory), cancellationToken);

    /// <summary>Reads the mean image (3x224x224, BGR, channel-major) from ResNetPreprocess.onnx, checking the graph is Split, Concat(B, G, R), Sub.</summary>
    internal static float[] ReadMeanImage(string path)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (Exception ex) when (ex is Google.Protobuf.InvalidProtocolBufferException or IOException)
        {
            throw new OnnxModelException(path, $"The ResNet18 preprocessing file '{path}' cannot be read ({ex.Message}). Restore the package {PackageId} {PackageVersion} again.", ex);
        }

        var graph = model.Graph;
        var ops = graph?.Node.Select(n => n.OpType).ToArray() ?? [];
        var mean = graph?.Initializer.FirstOrDefault(i => i.Name == "MeanImage");
        var concat = graph?.Node.FirstOrDefault(n => n.OpType == "Concat");
        var split = graph?.Node.FirstOrDefault(n => n.OpType == "Split");
        var bgr = concat is not null && split is not null && split.Output.Count == 3 && concat.Input.Count == 3
            && concat.Input[0] == split.Output[2] && concat.Input[1] == split.Output[1] && concat.Input[2] == split.Output[0];
        if (!ops.SequenceEqual(["Split", "Concat", "Sub"]) || !bgr || mean is null
            || !mean.Dims.SequenceEqual([1L, 3, InputSize, InputSize]) || mean.DataType != (int)TensorProto.Types.DataType.Float)
        {
            throw new OnnxModelException(path, $"The ResNet18 preprocessing file '{path}' is not the expected graph (Split, Concat to BGR, Sub of a [1,3,224,224] MeanImage). Restore the package {PackageId} {PackageVersion} again.");
        }

        var length = 3 * InputSize * InputSize;
        if (mean.FloatData.Count == length)
        {
            return [.. mean.FloatData];
        }

        if (mean.RawData.Length == length * sizeof(float))
        {
            var values = new float[length];
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(mean.RawData.Span).CopyTo(values);
            return values;
        }

        throw new OnnxModelException(path, $"The MeanImage in '{path}' does not hold {length} floats. Restore the package {PackageId} {PackageVersion} again.");
    }

    private static string Missing(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return "no such folder";
        }

        var missing = new[] { ModelFile, PreprocessFile }.Where(f => !File.Exists(Path.Combine(directory, f))).ToList();
        return "missing " + string.Join(" and ", missing);
    }
}
