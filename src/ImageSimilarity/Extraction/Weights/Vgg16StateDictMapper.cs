using System.Runtime.InteropServices;
using System.Security.Cryptography;
using TorchSharp;
using static TorchSharp.torch;

namespace ImageSimilarity.Extraction.Weights;

/// <summary>
/// Maps a state dict onto <see cref="Vgg16Network"/>: checks every name, shape, dtype and byte range first and
/// reports all problems at once, then streams each tensor straight into its parameter.
/// </summary>
/// <remarks>
/// Accepted names: torchvision's (<c>features.N.*</c>, <c>classifier.0/3.*</c>), timm's <c>vgg16.tv_in1k</c>
/// (<c>pre_logits.fc1/fc2.*</c> with conv-shaped [4096,512,7,7] / [4096,4096,1,1] weights), each optionally
/// prefixed by <c>module.</c> (DataParallel). The classification head (<c>classifier.6.*</c>, <c>head.fc.*</c>) is ignored.
/// </remarks>
internal static class Vgg16StateDictMapper
{
    private static readonly string[] FingerprintTensors = ["features.0.weight", "features.0.bias", "classifier.0.bias", "classifier.3.bias"];

    /// <summary>Finds the source tensor of every expected parameter; throws with the full list of problems.</summary>
    public static IReadOnlyDictionary<string, WeightTensor> Plan(StateDict stateDict)
    {
        var problems = new List<string>();
        var map = new Dictionary<string, WeightTensor>(StringComparer.Ordinal);
        var used = new HashSet<string>(StringComparer.Ordinal);
        var canonical = new Dictionary<string, WeightTensor>(StringComparer.Ordinal);
        foreach (var t in stateDict.Tensors)
        {
            var name = t.Name.StartsWith("module.", StringComparison.Ordinal) ? t.Name["module.".Length..] : t.Name;
            name = name switch
            {
                "pre_logits.fc1.weight" => "classifier.0.weight",
                "pre_logits.fc1.bias" => "classifier.0.bias",
                "pre_logits.fc2.weight" => "classifier.3.weight",
                "pre_logits.fc2.bias" => "classifier.3.bias",
                _ => name,
            };
            canonical[name] = t;
        }

        foreach (var (name, shape) in Vgg16Network.ExpectedParameters)
        {
            if (!canonical.TryGetValue(name, out var t))
            {
                problems.Add($"missing key '{name}' (shape {WeightTensor.FormatShape(shape)})");
                continue;
            }

            used.Add(name);
            var expectedCount = shape.Aggregate(1L, (a, b) => a * b);
            var shapeOk = t.Shape.SequenceEqual(shape)
                || (t.ElementCount == expectedCount && t.Name.Contains("pre_logits.", StringComparison.Ordinal)
                    && t.Shape.Length == 4 && t.Shape[0] == shape[0]);
            if (!shapeOk)
            {
                problems.Add($"'{t.Name}' has shape {t.ShapeText}, expected {WeightTensor.FormatShape(shape)}");
            }

            if (!WeightDTypes.IsFloatingPoint(t.DType))
            {
                problems.Add($"'{t.Name}' has dtype {WeightDTypes.Name(t.DType)}, expected float32 (or float16/bfloat16/float64)");
            }

            if (!t.IsContiguous)
            {
                problems.Add($"'{t.Name}' is not stored contiguously (strides {WeightTensor.FormatShape(t.Stride)})");
            }

            if (t.RequiredStorageBytes > t.Storage.ByteLength)
            {
                problems.Add($"'{t.Name}' needs {t.RequiredStorageBytes:N0} bytes but its {t.Storage.Description} declares only {t.Storage.ByteLength:N0}");
            }
            else if (t.RequiredStorageBytes > t.Storage.AvailableBytes)
            {
                problems.Add($"the file is truncated: '{t.Name}' needs {t.RequiredStorageBytes:N0} bytes of {t.Storage.Description} but only {t.Storage.AvailableBytes:N0} are present");
            }

            map[name] = t;
        }

        foreach (var (name, t) in canonical)
        {
            if (!used.Contains(name) && !name.StartsWith("classifier.6.", StringComparison.Ordinal) && !name.StartsWith("head.fc.", StringComparison.Ordinal))
            {
                problems.Add($"unexpected key '{t.Name}' (shape {t.ShapeText}): this is not a plain VGG16");
            }
        }

        if (problems.Count > 0)
        {
            throw new WeightsFileException(stateDict.FilePath, problems);
        }

        return map;
    }

    /// <summary>Fills every parameter of <paramref name="network"/> from the planned source tensors.</summary>
    public static void Load(Vgg16Network network, IReadOnlyDictionary<string, WeightTensor> plan)
    {
        using var noGrad = torch.no_grad();
        foreach (var (name, parameter) in network.named_parameters())
        {
            var source = plan[name];
            if (source.LayoutTransform is { } transform)
            {
                // Another axis order in the file (Keras): permute while copying into the parameter's memory.
                using var stored = empty(transform.StoredShape, ToScalarType(source.DType));
                source.ReadInto(stored.bytes);
                if (source.DType == WeightDType.Float32 && transform.IsAxisReversal(out var p, out var q, out var o))
                {
                    using var asFloat32 = parameter.dtype == ScalarType.Float32 ? null : empty(parameter.shape, ScalarType.Float32);
                    ReverseAxes(stored, asFloat32 ?? parameter, p, q, o);
                    if (asFloat32 is not null)
                    {
                        parameter.copy_(asFloat32);
                    }

                    continue;
                }

                using var permuted = stored.permute(transform.Permutation);
                using var target = parameter.view(transform.PermutedShape);
                target.copy_(permuted);
                continue;
            }

            if (ToScalarType(source.DType) == parameter.dtype)
            {
                source.ReadInto(parameter.bytes);
                continue;
            }

            // A different element type in the file or in the model (bf16 compute): convert one tensor at a time.
            using var staging = empty(source.Shape, ToScalarType(source.DType));
            source.ReadInto(staging.bytes);
            using var reshaped = staging.reshape(parameter.shape);
            parameter.copy_(reshaped);
        }
    }

    /// <summary>
    /// A short fingerprint of the weights' values (first layer and biases as float32), independent of the file format,
    /// the file name and the compute precision.
    /// </summary>
    public static string Fingerprint(IReadOnlyDictionary<string, WeightTensor> plan)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var scope = NewDisposeScope();
        foreach (var name in FingerprintTensors)
        {
            var asFloat = ReadInModelLayout(plan[name]).to(ScalarType.Float32).contiguous();
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
            hash.AppendData(asFloat.bytes);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset())[..8];
    }

    private static ScalarType ToScalarType(WeightDType type) => type switch
    {
        WeightDType.Float32 => ScalarType.Float32,
        WeightDType.Float64 => ScalarType.Float64,
        WeightDType.Float16 => ScalarType.Float16,
        WeightDType.BFloat16 => ScalarType.BFloat16,
        WeightDType.Int64 => ScalarType.Int64,
        WeightDType.Int32 => ScalarType.Int32,
        WeightDType.Int16 => ScalarType.Int16,
        WeightDType.Int8 => ScalarType.Int8,
        WeightDType.UInt8 => ScalarType.Byte,
        _ => ScalarType.Bool,
    };

    /// <summary>Reads a tensor's values as float32 (for tests and diagnostics).</summary>
    internal static float[] ReadAsFloat32(WeightTensor source)
    {
        using var scope = NewDisposeScope();
        var asFloat = ReadInModelLayout(source).to(ScalarType.Float32).contiguous();
        return MemoryMarshal.Cast<byte, float>(asFloat.bytes).ToArray();
    }

    private static unsafe void ReverseAxes(Tensor source, Tensor destination, int p, int q, int o)
    {
        fixed (byte* s = source.bytes)
        fixed (byte* d = destination.bytes)
        {
            WeightLayoutTransform.ReverseAxes((float*)s, (float*)d, p, q, o);
        }
    }

    /// <summary>Reads a tensor into a new torch tensor of the model's shape, in the file's element type.</summary>
    private static Tensor ReadInModelLayout(WeightTensor source)
    {
        var staging = empty(source.LayoutTransform?.StoredShape ?? source.Shape, ToScalarType(source.DType));
        source.ReadInto(staging.bytes);
        return source.LayoutTransform is { } transform ? staging.permute(transform.Permutation).reshape(source.Shape) : staging;
    }
}
