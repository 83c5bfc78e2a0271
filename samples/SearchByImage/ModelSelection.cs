using System.CommandLine;
using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;
using ImageSimilarity.OnnxRuntime;

namespace SearchByImage;

/// <summary>
/// <c>--model vgg16|resnet18|onnx:&lt;file&gt;</c> and <c>--engine torchsharp|onnxruntime|auto</c>: which network makes the
/// vectors and, for VGG16, what runs it (with <c>--precision auto</c>, also in which precision). <c>index</c> records the
/// model in the index file; <c>search</c> uses the recorded one and refuses another.
/// </summary>
internal sealed class ModelSelection
{
    public const string Vgg16 = "vgg16";
    public const string ResNet18 = "resnet18";
    public const string OnnxPrefix = "onnx:";

    public ModelSelection(bool fromIndex)
    {
        var models = "vgg16 (4096-d; pretrained weights downloaded once, 528 MB), resnet18 (512-d; pretrained, built in: works offline) or onnx:<file> (your ONNX image model, torchvision-style input).";
        Model = new Option<string?>("--model")
        {
            Description = models + (fromIndex ? " Default: the model the index was built with, else vgg16." : " Default: vgg16."),
        };
        Model.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } v && !IsKnown(v))
            {
                r.AddError($"--model '{v}' is not vgg16, resnet18 or onnx:<file>.");
            }
        });
        Engine = new Option<string?>("--engine")
        {
            Description = "What runs VGG16: torchsharp (fp32 or bf16), onnxruntime (fp32), or auto (the faster one on this CPU, timed for a few seconds at the first use on a CPU model and cached; with --precision auto, also the precision; IMAGESIMILARITY_AUTO_MEASURE=0 uses a CPU rule instead)."
                + (fromIndex ? " Default: what the index was built with, else torchsharp." : " Default: torchsharp."),
        };
        Engine.AcceptOnlyFromAmong("torchsharp", "onnxruntime", "auto");
        OnnxSpec = new Option<string?>("--onnx-spec")
        {
            Description = "With --model onnx:<file>: a JSON file describing the model's input and output (keys: inputSize, resizeShorterSide, mean, std, pixelScale, channelOrder rgb|bgr, layout nchw|nhwc, pooling flatten|global-average, inputName, outputName, name)."
                + " Default: <model>.spec.json beside the model if it exists" + (fromIndex ? ", else the one the index was built with" : string.Empty) + ", else torchvision-style input.",
        };
    }

    public Option<string?> Model { get; }

    public Option<string?> Engine { get; }

    public Option<string?> OnnxSpec { get; }

    public void AddTo(Command command)
    {
        command.Options.Add(Model);
        command.Options.Add(Engine);
        command.Options.Add(OnnxSpec);
    }

    /// <summary>The model to use: the command line's, else the index's (vgg16 for an index from before --model), else vgg16.</summary>
    /// <exception cref="ArgumentException">The command line names another model than the index was built with.</exception>
    public string Resolve(ParseResult parseResult, string? indexPath, IReadOnlyDictionary<string, string>? indexProperties)
    {
        var requested = parseResult.GetValue(Model) is { } r ? Canonical(r) : null;
        var recorded = indexProperties is null ? null : indexProperties.GetValueOrDefault(IndexProperties.Model) ?? Vgg16;
        if (requested is not null && recorded is not null && !string.Equals(requested, recorded, StringComparison.Ordinal))
        {
            throw new ArgumentException($"index '{indexPath}' was built with --model {recorded}; --model {requested} makes vectors that cannot be compared with them: leave --model out (or pass --model {recorded}), or use another --index");
        }

        return recorded ?? requested ?? Vgg16;
    }

    /// <summary>Loads the extractor of <paramref name="model"/>; for VGG16 the engine and precision come from the command line, else the index, else torchsharp/fp32.</summary>
    public async Task<Loaded> LoadAsync(
        string model,
        ParseResult parseResult,
        ModelOptions modelOptions,
        Vgg16ExtractorOptions vgg16,
        IReadOnlyDictionary<string, string>? indexProperties,
        IProgress<WeightsDownloadProgress>? progress,
        CancellationToken cancellationToken)
    {
        var engineText = parseResult.GetValue(Engine) ?? indexProperties?.GetValueOrDefault(IndexProperties.Engine) ?? "torchsharp";
        var precisionText = parseResult.GetValue(modelOptions.Precision) ?? indexProperties?.GetValueOrDefault(IndexProperties.Precision) ?? "fp32";
        if (model != Vgg16)
        {
            if (parseResult.GetValue(Engine) is "torchsharp" || parseResult.GetValue(modelOptions.Precision) is "bf16")
            {
                throw new ArgumentException($"--model {model} runs on ONNX Runtime in fp32; --engine torchsharp and --precision bf16 apply to vgg16 only");
            }

            if (parseResult.GetValue(modelOptions.Weights) is not null || parseResult.GetValue(modelOptions.Preset) is not null)
            {
                throw new ArgumentException($"--weights and --preset apply to vgg16 only; --model {model} has its own weights and preprocessing");
            }

            var onnxOptions = new OnnxExtractorOptions { BatchSize = vgg16.BatchSize, DecoderOptions = vgg16.DecoderOptions };
            if (model == ResNet18)
            {
                if (parseResult.GetValue(OnnxSpec) is not null)
                {
                    throw new ArgumentException("--onnx-spec applies to --model onnx:<file> only; resnet18 has its own preprocessing");
                }

                return new Loaded(await ResNet18Model.LoadAsync(onnxOptions, cancellationToken: cancellationToken).ConfigureAwait(false), model, "onnxruntime", "fp32", null, null);
            }

            var modelPath = model[OnnxPrefix.Length..];
            var specPath = SpecPath(parseResult, modelPath, indexProperties);
            var spec = specPath is null ? new OnnxModelSpec() : OnnxModelSpec.FromJsonFile(specPath);
            var extractor = await OnnxFeatureExtractor.LoadAsync(modelPath, spec, onnxOptions, cancellationToken).ConfigureAwait(false);
            return new Loaded(extractor, model, "onnxruntime", "fp32", null, null) { SpecPath = specPath };
        }

        if (parseResult.GetValue(OnnxSpec) is not null)
        {
            throw new ArgumentException("--onnx-spec applies to --model onnx:<file> only");
        }

        Vgg16Engine? engine = engineText switch { "auto" => null, "onnxruntime" => Vgg16Engine.OnnxRuntime, _ => Vgg16Engine.TorchSharp };
        ComputePrecision? precision = precisionText switch { "auto" => null, "bf16" => ComputePrecision.BFloat16, _ => ComputePrecision.Float32 };
        var choice = await Vgg16EngineSelector.ChooseAsync(engine, precision, vgg16, logger: StderrLogger.Instance, progress: progress, cancellationToken: cancellationToken).ConfigureAwait(false);
        var loaded = await Vgg16EngineSelector.LoadAsync(choice, vgg16, progress, cancellationToken).ConfigureAwait(false);
        var weightsPath = loaded switch
        {
            Vgg16FeatureExtractor torch => torch.WeightsPath,
            OnnxFeatureExtractor onnx => onnx.ModelPath,
            _ => null,
        };
        var auto = engine is null || precision is null ? choice.Reason : null;
        return new Loaded(loaded, Vgg16, choice.Engine == Vgg16Engine.OnnxRuntime ? "onnxruntime" : "torchsharp", ModelOptions.Name(choice.Precision), weightsPath, auto);
    }

    /// <summary>The spec file of an onnx:&lt;file&gt; model: --onnx-spec, else &lt;model&gt;.spec.json beside it, else the index's, else none (the defaults).</summary>
    private string? SpecPath(ParseResult parseResult, string modelPath, IReadOnlyDictionary<string, string>? indexProperties)
    {
        if (parseResult.GetValue(OnnxSpec) is { } given)
        {
            return Path.GetFullPath(given);
        }

        var beside = OnnxModelSpec.SpecFilePath(modelPath);
        return File.Exists(beside) ? beside : indexProperties?.GetValueOrDefault(IndexProperties.OnnxSpec);
    }

    private static bool IsKnown(string value) => value is Vgg16 or ResNet18 || (value.StartsWith(OnnxPrefix, StringComparison.Ordinal) && value.Length > OnnxPrefix.Length);

    /// <summary>vgg16 and resnet18 as they are; onnx:&lt;file&gt; with the file's full path, so the index names it exactly.</summary>
    private static string Canonical(string value) => value.StartsWith(OnnxPrefix, StringComparison.Ordinal)
        ? OnnxPrefix + Path.GetFullPath(value[OnnxPrefix.Length..])
        : value;

    /// <summary>A loaded extractor and what to record about it in an index.</summary>
    internal sealed record Loaded(IFeatureExtractor Extractor, string Model, string Engine, string Precision, string? WeightsPath, string? AutoReason)
    {
        /// <summary>Gets the spec file an onnx:&lt;file&gt; model was loaded with; null for the defaults and other models.</summary>
        public string? SpecPath { get; init; }

        /// <summary>Gets the VGG16 preprocessing preset in effect (the weights' own when none was asked for); null for other models.</summary>
        public string? Preset => Extractor is IPreprocessingFeatureExtractor { Preprocessor: ImagePreprocessor p } && Model == Vgg16 ? ModelOptions.Name(p.Preset) : null;

        public void Record(IDictionary<string, string> properties)
        {
            properties[IndexProperties.Model] = Model;
            properties[IndexProperties.Engine] = Engine;
            properties[IndexProperties.Precision] = Precision;
            if (AutoReason is not null)
            {
                properties[IndexProperties.AutoChoice] = $"{Engine} {Precision}: {AutoReason}";
            }
            else
            {
                properties.Remove(IndexProperties.AutoChoice);
            }
            if (SpecPath is not null)
            {
                properties[IndexProperties.OnnxSpec] = SpecPath;
            }

            if (WeightsPath is not null && Model == Vgg16)
            {
                properties[IndexProperties.WeightsPath] = WeightsPath;
            }
        }
    }
}
