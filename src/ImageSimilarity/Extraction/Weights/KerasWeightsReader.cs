using System.Globalization;
using PureHDF;
using PureHDF.VOL.Native;

namespace ImageSimilarity.Extraction.Weights;

/// <summary>
/// Reads Keras' VGG16 weights from an HDF5 file (PureHDF, no native HDF5 library) into a <see cref="StateDict"/> with
/// torchvision's parameter names: the layout of Keras' applications file
/// (<c>vgg16_weights_tf_dim_ordering_tf_kernels.h5</c>, layer groups at the root) and of a full model saved with
/// <c>model.save('x.h5')</c> (the same under <c>model_weights</c>).
/// </summary>
/// <remarks>
/// <para>Each layer is found the way Keras finds it: the group's <c>layer_names</c> attribute lists the layers, each
/// layer group's <c>weight_names</c> attribute lists its datasets in order (kernel, then bias), whatever they are called
/// (Keras 1 wrote <c>block1_conv1_W_1:0</c>, Keras 2 <c>block1_conv1/kernel:0</c>).</para>
/// <para>Layouts: conv kernels are (H, W, in, out), dense kernels (in, out), and fc1's rows follow Keras' Flatten of
/// NHWC activations, (H, W, C). Each tensor carries a <see cref="WeightLayoutTransform"/> that the loader applies while
/// copying into the parameter: conv (H, W, in, out) -> (out, in, H, W); fc1 viewed as (7, 7, 512, 4096) -> (4096, 512,
/// 7, 7), i.e. torch's (C, H, W) flatten order; fc2 transposed. The <c>predictions</c> layer is never read.</para>
/// </remarks>
internal static class KerasWeightsReader
{
    /// <summary>The <see cref="StateDict.Format"/> of Keras files.</summary>
    public const string FormatName = "Keras HDF5";

    /// <summary>The first 8 bytes of every HDF5 file (without a user block).</summary>
    public static ReadOnlySpan<byte> Signature => [0x89, (byte)'H', (byte)'D', (byte)'F', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Keras' VGG16 conv layers in model order, with the torchvision module index of each.</summary>
    private static readonly (string Layer, int TorchIndex)[] ConvLayers =
    [
        ("block1_conv1", 0), ("block1_conv2", 2), ("block2_conv1", 5), ("block2_conv2", 7),
        ("block3_conv1", 10), ("block3_conv2", 12), ("block3_conv3", 14),
        ("block4_conv1", 17), ("block4_conv2", 19), ("block4_conv3", 21),
        ("block5_conv1", 24), ("block5_conv2", 26), ("block5_conv3", 28),
    ];

    public static bool HasSignature(ReadOnlySpan<byte> head) => head.Length >= 8 && head[..8].SequenceEqual(Signature);

    public static StateDict Read(string path)
    {
        NativeFile file;
        try
        {
            file = H5File.OpenRead(path);
        }
        catch (Exception ex) when (ex is not IOException and not UnauthorizedAccessException)
        {
            throw new WeightsFileException(path, [$"the HDF5 file cannot be read ({ex.Message})"], ex);
        }

        try
        {
            var tensors = Plan(path, file);
            return new StateDict(path, FormatName, tensors, file);
        }
        catch (Exception ex) when (ex is not WeightsFileException and not OutOfMemoryException)
        {
            file.Dispose();
            throw new WeightsFileException(path, [$"the HDF5 structure cannot be read ({ex.Message}); the file may be truncated or damaged"], ex);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static List<WeightTensor> Plan(string path, NativeFile file)
    {
        var (weights, where) = FindWeightsGroup(path, file);
        var layerNames = ReadStrings(weights.Attribute("layer_names"));
        var present = new HashSet<string>(layerNames, StringComparer.Ordinal);
        var problems = new List<string>();
        var tensors = new List<WeightTensor>();

        bool hasFc1 = present.Contains("fc1"), hasFc2 = present.Contains("fc2");
        var hasConv = ConvLayers.Any(c => present.Contains(c.Layer));
        if (!hasFc1 && !hasFc2 && hasConv)
        {
            throw new WeightsFileException(path, [
                "it has the convolutional layers but no 'fc1' and 'fc2' layers: it is a 'notop' file (include_top=False, like "
                + $"{Vgg16Weights.KerasNoTopFileName}), and the fc2 features need the fully connected layers. Use the full file "
                + $"{Vgg16Weights.KerasFileName} ({Vgg16Weights.KerasLength:N0} bytes), which Keras downloads with "
                + $"VGG16(weights='imagenet', include_top=True) and keeps in {Vgg16Weights.KerasCacheDirectory}"]);
        }

        var channels = 3;
        foreach (var (layer, torchIndex) in ConvLayers)
        {
            var outChannels = torchIndex < 4 ? 64 : torchIndex < 9 ? 128 : torchIndex < 16 ? 256 : 512;
            var pair = Layer(weights, present, layer, problems);
            if (pair is { } p)
            {
                var kernel = Tensor(path, layer, p.Kernel, $"features.{torchIndex}.weight", [3, 3, channels, outChannels],
                    [outChannels, channels, 3, 3], new WeightLayoutTransform([3, 3, channels, outChannels], [3, 2, 0, 1]), problems);
                var bias = Tensor(path, layer, p.Bias, $"features.{torchIndex}.bias", [outChannels], [outChannels], null, problems);
                tensors.AddRange(new[] { kernel, bias }.OfType<WeightTensor>());
            }

            channels = outChannels;
        }

        const int fc1In = Vgg16Network.Fc1Inputs, fc = Vgg16Network.FeatureDimension;
        if (Layer(weights, present, "fc1", problems) is { } fc1)
        {
            tensors.AddRange(new[]
            {
                Tensor(path, "fc1", fc1.Kernel, "classifier.0.weight", [fc1In, fc], [fc, fc1In], new WeightLayoutTransform([7, 7, 512, fc], [3, 2, 0, 1]), problems),
                Tensor(path, "fc1", fc1.Bias, "classifier.0.bias", [fc], [fc], null, problems),
            }.OfType<WeightTensor>());
        }

        if (Layer(weights, present, "fc2", problems) is { } fc2)
        {
            tensors.AddRange(new[]
            {
                Tensor(path, "fc2", fc2.Kernel, "classifier.3.weight", [fc, fc], [fc, fc], new WeightLayoutTransform([fc, fc], [1, 0]), problems),
                Tensor(path, "fc2", fc2.Bias, "classifier.3.bias", [fc], [fc], null, problems),
            }.OfType<WeightTensor>());
        }

        if (problems.Count > 0)
        {
            if (problems.Any(p => p.StartsWith("missing layer", StringComparison.Ordinal)))
            {
                problems.Add($"the layers with weights in this file ({where}) are: {string.Join(", ", layerNames.Where(n => HasWeights(weights, n)))}");
            }

            throw new WeightsFileException(path, problems);
        }

        return tensors;
    }

    /// <summary>The applications file keeps <c>layer_names</c> at the root; a full saved model under <c>model_weights</c>.</summary>
    private static (NativeGroup Group, string Where) FindWeightsGroup(string path, NativeFile file)
    {
        if (file.AttributeExists("layer_names"))
        {
            return (file, "root group");
        }

        if (file.LinkExists("model_weights") && file.Get("model_weights") is NativeGroup modelWeights && modelWeights.AttributeExists("layer_names"))
        {
            return (modelWeights, "group 'model_weights'");
        }

        var children = file.Children().Select(c => c.Name).Take(10).ToList();
        var keras3 = children.Contains("layers") || children.Contains("_layer_checkpoint_dependencies");
        var what = children.Count == 0 ? "it has no groups or datasets" : $"its top-level entries are: {string.Join(", ", children)}";
        throw new WeightsFileException(path, [
            keras3
                ? $"this HDF5 file is in Keras 3's '.weights.h5' layout ({what}), which is not supported: save the model with Keras' legacy HDF5 format (model.save_weights('x.h5') in Keras 2, or tf.keras) or use Keras' own {Vgg16Weights.KerasFileName}"
                : $"this HDF5 file holds no Keras weights: neither the root nor a 'model_weights' group has the 'layer_names' attribute that Keras writes ({what}). Use Keras' {Vgg16Weights.KerasFileName} or a file written by model.save_weights / model.save in HDF5 format"]);
    }

    private static (NativeDataset Kernel, NativeDataset Bias)? Layer(NativeGroup weights, HashSet<string> present, string layer, List<string> problems)
    {
        if (!present.Contains(layer) || !weights.LinkExists(layer) || weights.Get(layer) is not NativeGroup group)
        {
            problems.Add($"missing layer '{layer}' (Keras VGG16 has block1_conv1 ... block5_conv3, fc1, fc2)");
            return null;
        }

        if (!group.AttributeExists("weight_names"))
        {
            problems.Add($"layer '{layer}' has no 'weight_names' attribute, so its kernel and bias cannot be found");
            return null;
        }

        var names = ReadStrings(group.Attribute("weight_names"));
        if (names.Length != 2)
        {
            problems.Add($"layer '{layer}' has {names.Length} weights ({string.Join(", ", names)}), expected 2: a kernel and a bias");
            return null;
        }

        var datasets = new NativeDataset?[2];
        for (var i = 0; i < 2; i++)
        {
            datasets[i] = group.LinkExists(names[i]) ? group.Get(names[i]) as NativeDataset : null;
            if (datasets[i] is null)
            {
                problems.Add($"layer '{layer}' names the weight '{names[i]}' but the file has no such dataset");
            }
        }

        return datasets[0] is { } k && datasets[1] is { } b ? (k, b) : null;
    }

    private static WeightTensor? Tensor(
        string path, string layer, NativeDataset dataset, string torchName, long[] kerasShape, long[] torchShape,
        WeightLayoutTransform? transform, List<string> problems)
    {
        var role = torchName.EndsWith(".bias", StringComparison.Ordinal) ? "bias" : "kernel";
        var shape = dataset.Space.Dimensions.Select(d => (long)d).ToArray();
        var ok = true;
        if (!shape.SequenceEqual(kerasShape))
        {
            problems.Add($"layer '{layer}': the {role} has shape {WeightTensor.FormatShape(shape)}, expected {WeightTensor.FormatShape(kerasShape)}"
                + (role == "kernel" && shape.Length == 4 ? " (Keras' (height, width, in, out) order)" : string.Empty));
            ok = false;
        }

        WeightDType? dtype = dataset.Type.Class == H5DataTypeClass.FloatingPoint
            ? dataset.Type.Size switch { 4 => WeightDType.Float32, 8 => WeightDType.Float64, 2 => WeightDType.Float16, _ => null }
            : null;
        if (dtype is null)
        {
            problems.Add($"layer '{layer}': the {role} has HDF5 type {dataset.Type.Class} of {dataset.Type.Size} bytes, expected float32 (or float16/float64)");
            ok = false;
        }

        if (!ok)
        {
            return null;
        }

        var stride = new long[torchShape.Length];
        long s = 1;
        for (var i = torchShape.Length - 1; i >= 0; i--)
        {
            stride[i] = s;
            s *= torchShape[i];
        }

        var bytes = s * WeightDTypes.SizeOf(dtype!.Value);
        var storage = new Hdf5DatasetStorage(path, dataset, dtype.Value, string.Create(CultureInfo.InvariantCulture, $"layer '{layer}' {role} ({dataset.Name})"), bytes);
        return new WeightTensor(torchName, dtype.Value, torchShape, stride, 0, storage) { LayoutTransform = transform };
    }

    private static bool HasWeights(NativeGroup weights, string layer)
    {
        try
        {
            return weights.Get(layer) is NativeGroup g && g.AttributeExists("weight_names") && ReadStrings(g.Attribute("weight_names")).Length > 0;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return false;
        }
    }

    /// <summary>Reads a string-array attribute (h5py writes numpy <c>S</c> arrays as fixed-length strings); an empty one may have any type.</summary>
    private static string[] ReadStrings(IH5Attribute attribute)
    {
        if (attribute.Space.Dimensions.Aggregate(1UL, (a, b) => a * b) == 0)
        {
            return [];
        }

        if (attribute.Type.Class != H5DataTypeClass.String)
        {
            throw new InvalidDataException($"attribute '{attribute.Name}' holds {attribute.Type.Class}, not strings");
        }

        return attribute.Space.Rank == 0 ? [attribute.Read<string>()] : attribute.Read<string[]>();
    }
}
