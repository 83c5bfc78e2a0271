using System.CommandLine;
using ImageSimilarity.Extraction;
using ImageSimilarity.OnnxRuntime;

namespace SearchByImage;

/// <summary>
/// <c>--model vgg16|resnet18|onnx:&lt;file&gt;</c> and <c>--engine torchsharp|onnxruntime|auto</c>: which network makes the
/// vectors and, for VGG16, which engine runs it. <c>index</c> records the model in the index file; <c>search</c> uses the
/// recorded one and refuses another.
/// </summary>
internal sealed class ModelSelection
{
    public const string Vgg16 = "vgg16";
    public const string ResNet18 = "resnet18";
    public const string OnnxPrefix = "onnx:";

    public ModelSelection(bool fromIndex)
    {
        Model = new Option<string?>("--model")
        {
            Description = fromIndex
                ? "vgg16 (4096-d, pretrained weights downloaded once, 528 MB), resnet18 (512-d, pretrained, built in: works offline) or onnx:<file> (your ONNX image model, torchvision-style input). Default: the model the index was built with, else vgg16."
                : "vgg16 (4096-d, pretrained weights downloaded once, 528 MB), resnet18 (512-d, pretrained, built in: works offline) or onnx:<file> (your ONNX image model, torchvision-style input). Default: vgg16.",
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
            Description = "What runs VGG16: torchsharp (fp32 or bf16), onnxruntime (fp32), or auto (the faster one on this CPU, with --precision auto also the precision). Default: torchsharp.",
        };
        Engine.AcceptOnlyFromAmong("torchsharp", "onnxruntime", "auto");
    }

    public Option<string?> Model { get; }

    public Option<string?> Engine { get; }

    public void AddTo(Command command)
    {
        command.Options.Add(Model);
        command.Options.Add(Engine);
    }

    /// <summary>The model to use: the command line's, else the index's, else vgg16; refuses a model other than the index's.</summary>
    public string Resolve(ParseResult parseResult, string? indexPath, IReadOnlyDictionary<string, string>? indexProperties)
    {
        var requested = parseResult.GetValue(Model);
        var recorded = indexProperties is null ? null : indexProperties.GetValueOrDefault(IndexProperties.Model) ?? Vgg16;
        if (requested is not null && recorded is not null && !string.Equals(Canonical(requested), recorded, StringComparison.Ordinal))
        {
            throw new ArgumentException($"index '{indexPath}' was built with --model {recorded}; --model {requested} makes vectors that cannot be compared with it: leave --model out (or pass --model {recorded}), or use another --index");
        }

        return recorded ?? Canonical(requested ?? Vgg16);
    }

    /// <summary>Loads the extractor for <paramref name="model"/>; VGG16 goes through the engine choice.</summary>
    public async Task<Loaded> LoadAsync(string model, ParseResult parseResult, Vgg16ExtractorOptions vgg16, IProgress<WeightsDownloadProgress>? progress, string? indexEngine, CancellationToken cancellationToken)
    {
        var onnxOptions = new OnnxExtractorOptions { BatchSize = vgg16.BatchSize };
        if (model == ResNet18)
        {
            return new Loaded(await ResNet18Model.LoadAsync(onnxOptions, cancellationToken: cancellationToken).ConfigureAwait(false), ResNet18, "onnxruntime", "fp32", null);
        }

        if (model.StartsWith(OnnxPrefix, StringComparison.Ordinal))
        {
            var path = model[OnnxPrefix.Length..];
            var extractor = await OnnxFeatureExtractor.LoadAsync(path, new OnnxModelSpec(), onnxOptions, cancellationToken).ConfigureAwait(false);
            return new Loaded(extractor, model, "onnxruntime", "fp32", null);
        }

        var engineChoice = parseResult.GetValue(Engine) ?? indexEngine ?? "torchsharp";
        var (engine, precision, reason) = EngineChoice.Resolve(engineChoice, parseResult.GetValue(EngineChoice.PrecisionOption(parseResult)) ?? Name(vgg16.Precision));
        var options = vgg16.With(precision);
        if (engine == "onnxruntime")
        {
            var onnx = await Vgg16OnnxModel.CreateAsync(options, progress, cancellationToken).ConfigureAwait(false);
            return new Loaded(onnx, Vgg16, engine, "fp32", onnx.ModelPath, reason);
        }

        var torch = await Vgg16FeatureExtractor.CreateAsync(options, progress, cancellationToken).ConfigureAwait(false);
        return new Loaded(torch, Vgg16, engine, Name(precision), torch.WeightsPath, reason);
    }

    private static string Name(ComputePrecision precision) => precision == ComputePrecision.BFloat16 ? "bf16" : "fp32";

    private static bool IsKnown(string value) => value is Vgg16 or ResNet18 || (value.StartsWith(OnnxPrefix, StringComparison.Ordinal) && value.Length > OnnxPrefix.Length);

    /// <summary>vgg16 and resnet18 as they are; onnx:&lt;file&gt; with the file's full path, so the index names it exactly.</summary>
    private static string Canonical(string value) => value.StartsWith(OnnxPrefix, StringComparison.Ordinal)
        ? OnnxPrefix + Path.GetFullPath(value[OnnxPrefix.Length..])
        : value;

    /// <summary>A loaded extractor and what to record about it.</summary>
    internal sealed record Loaded(IFeatureExtractor Extractor, string Model, string Engine, string Precision, string? WeightsPath, string? AutoReason = null)
    {
        public void Record(IDictionary<string, string> properties)
        {
            properties[IndexProperties.Model] = Model;
            properties[IndexProperties.Engine] = Engine;
            properties[IndexProperties.Precision] = Precision;
            if (WeightsPath is not null)
            {
                properties[IndexProperties.WeightsPath] = WeightsPath;
            }
        }
    }
}
