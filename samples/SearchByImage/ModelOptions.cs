using System.CommandLine;
using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;

namespace SearchByImage;

/// <summary>The model options shared by the commands that extract features: --weights, --preset, --precision, --batch-size, --max-pixels.</summary>
internal sealed class ModelOptions
{
    public ModelOptions(bool presetAndPrecisionFromIndex = false)
    {
        Weights = new Option<string?>("--weights")
        {
            Description = $"Weights file (.pth, .safetensors or Keras .h5). Default: ${Vgg16Weights.EnvironmentVariable}, else the cache ({Vgg16Weights.DefaultCacheDirectory}), else Keras' {Vgg16Weights.KerasFileName} in {Vgg16Weights.KerasCacheDirectory}, else download {Vgg16Weights.OfficialFileName}.",
        };
        Preset = new Option<string?>("--preset")
        {
            Description = presetAndPrecisionFromIndex
                ? "Preprocessing that matches the weights (torchvision or keras-caffe). Default: what the index was built with."
                : "Preprocessing that matches the weights (torchvision or keras-caffe). Default: keras-caffe for Keras .h5 weights, else torchvision.",
        };
        Preset.AcceptOnlyFromAmong("torchvision", "keras-caffe");
        Precision = new Option<string?>("--precision")
        {
            Description = presetAndPrecisionFromIndex
                ? "Compute precision of VGG16, fp32, bf16 (about twice as fast on CPUs with AMX or AMD AVX512_BF16) or auto (the faster on this CPU). Default: what the index was built with."
                : "Compute precision of VGG16, fp32, bf16 (about twice as fast on CPUs with AMX or AMD AVX512_BF16) or auto (the faster on this CPU). Default: fp32.",
        };
        Precision.AcceptOnlyFromAmong("fp32", "bf16", "auto");
        BatchSize = new Option<int>("--batch-size")
        {
            Description = "Images per forward pass.",
            DefaultValueFactory = _ => 8,
        };
        CliValidation.AtLeastOne(BatchSize);
        MaxPixels = new Option<long?>("--max-pixels")
        {
            Description = $"Refuse images larger than this many pixels (width x height), from their header. Default: {ImageDecoderOptions.DefaultMaxPixels:N0}.",
        };
        CliValidation.AtLeastOne(MaxPixels);
    }

    public Option<string?> Weights { get; }

    public Option<string?> Preset { get; }

    public Option<string?> Precision { get; }

    public Option<int> BatchSize { get; }

    public Option<long?> MaxPixels { get; }

    public void AddTo(Command command)
    {
        command.Options.Add(Weights);
        command.Options.Add(Preset);
        command.Options.Add(Precision);
        command.Options.Add(BatchSize);
        command.Options.Add(MaxPixels);
    }

    /// <summary>Builds extractor options from the command line, falling back to the given defaults (for example an index's settings).</summary>
    /// <remarks>
    /// A weights path recorded in an index is only a last resort: --weights, then ${IMAGESIMILARITY_VGG16_WEIGHTS}, then
    /// the recorded path if that file still exists, then the cache and a download. So a weights file that moved (and the
    /// variable pointing at its new place) does not break a search of an index built with it.
    /// </remarks>
    public Vgg16ExtractorOptions Read(ParseResult parseResult, string? recordedWeights = null, string? defaultPreset = null, string? defaultPrecision = null) => new()
    {
        WeightsPath = parseResult.GetValue(Weights) ?? RecordedWeightsFallback(recordedWeights),
        Preset = (parseResult.GetValue(Preset) ?? defaultPreset) is { } preset ? ParsePreset(preset) : null,
        Precision = ParsePrecision(parseResult.GetValue(Precision) ?? defaultPrecision ?? "fp32"),
        BatchSize = parseResult.GetValue(BatchSize),
        DecoderOptions = parseResult.GetValue(MaxPixels) is { } maxPixels ? new ImageDecoderOptions { MaxPixels = maxPixels } : ImageDecoderOptions.Default,
    };

    /// <summary>The recorded path when nothing with higher precedence (the environment variable) is set and the file is still there.</summary>
    internal static string? RecordedWeightsFallback(string? recordedWeights)
    {
        if (string.IsNullOrWhiteSpace(recordedWeights) || !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Vgg16Weights.EnvironmentVariable)))
        {
            return null;
        }

        return File.Exists(recordedWeights) ? recordedWeights : null;
    }

    public static string Name(PreprocessingPreset preset) => preset == PreprocessingPreset.KerasCaffe ? "keras-caffe" : "torchvision";

    public static string Name(ComputePrecision precision) => precision == ComputePrecision.BFloat16 ? "bf16" : "fp32";

    private static PreprocessingPreset ParsePreset(string value) => value switch
    {
        "torchvision" => PreprocessingPreset.Torchvision,
        "keras-caffe" => PreprocessingPreset.KerasCaffe,
        _ => throw new ArgumentException($"unknown preset '{value}': use torchvision or keras-caffe"),
    };

    private static ComputePrecision ParsePrecision(string value) => value switch
    {
        "fp32" => ComputePrecision.Float32,
        "bf16" => ComputePrecision.BFloat16,
        "auto" => ComputePrecision.Float32, // resolved by ModelSelection (Vgg16EngineSelector)
        _ => throw new ArgumentException($"unknown precision '{value}': use fp32 or bf16"),
    };
}
