using System.Diagnostics;
using ImageSimilarity.Extraction;
using ImageSimilarity.Extraction.Weights;
using ImageSimilarity.Imaging;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>
/// VGG16 fc2 features (4096 floats) run by ONNX Runtime instead of TorchSharp: the graph is built in C# from the same
/// weights files <see cref="Vgg16FeatureExtractor"/> loads (torchvision <c>.pth</c> in zip or legacy format,
/// safetensors with torchvision or timm names), with the same preprocessing and the same
/// <see cref="IFeatureExtractor.ModelId"/>, so the vectors of both engines share one index.
/// </summary>
/// <remarks>fp32 only. No Python and no ONNX export step: nothing is written to disk.</remarks>
public static class Vgg16OnnxModel
{
    /// <summary>
    /// Resolves the weights like <see cref="Vgg16FeatureExtractor.CreateAsync"/> (option, environment variable, cache,
    /// download) and builds the ONNX Runtime model.
    /// </summary>
    /// <param name="options">Weights, preset, batch size and threads; the precision must be fp32. <see langword="null"/> for the defaults.</param>
    /// <param name="progress">Receives download progress when the weights have to be downloaded.</param>
    /// <param name="cancellationToken">Cancels resolution and download (building is not interrupted).</param>
    /// <returns>The extractor; the caller disposes it.</returns>
    /// <exception cref="WeightsFileException">The weights cannot be found, downloaded or used.</exception>
    /// <exception cref="ArgumentException">A precision other than fp32 was asked for.</exception>
    /// <exception cref="OperationCanceledException">The operation was cancelled.</exception>
    public static async Task<OnnxFeatureExtractor> CreateAsync(
        Vgg16ExtractorOptions? options = null,
        IProgress<WeightsDownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        options ??= Vgg16ExtractorOptions.Default;
        var path = await Vgg16Weights.ResolveAsync(options.WeightsPath, options.Download, progress, cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return await Task.Run(() => Load(path, options), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Builds the ONNX Runtime VGG16 from a weights file (format detected from the content).</summary>
    /// <param name="weightsPath">The weights file.</param>
    /// <param name="options">Preset, batch size and threads; the precision must be fp32; <see cref="Vgg16ExtractorOptions.WeightsPath"/> is ignored.</param>
    /// <returns>The extractor; the caller disposes it.</returns>
    /// <exception cref="ArgumentException"><paramref name="weightsPath"/> is empty, or a precision other than fp32 was asked for.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="weightsPath"/> is <see langword="null"/>.</exception>
    /// <exception cref="WeightsFileException">The file is missing, unsafe, truncated or does not fit VGG16; the message lists every problem.</exception>
    public static OnnxFeatureExtractor Load(string weightsPath, Vgg16ExtractorOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(weightsPath);
        options ??= Vgg16ExtractorOptions.Default;
        if (options.Precision != ComputePrecision.Float32)
        {
            throw new ArgumentException($"The ONNX Runtime VGG16 computes in fp32 only; {options.Precision} needs the TorchSharp engine (Vgg16FeatureExtractor).", nameof(options));
        }

        var stopwatch = Stopwatch.StartNew();
        var fullPath = Path.GetFullPath(weightsPath);
        byte[] model;
        string weightsId;
        bool keras;
        using (var stateDict = WeightsFileReader.Open(fullPath))
        {
            var plan = Vgg16StateDictMapper.Plan(stateDict);

            // The same weights id and preset rule as Vgg16FeatureExtractor, so both engines give one ModelId.
            keras = stateDict.Format == KerasWeightsReader.FormatName;
            weightsId = keras
                ? "keras-" + (IsOfficialKerasFile(fullPath) ? Vgg16Weights.KerasMd5[..8] : Vgg16StateDictMapper.Fingerprint(plan))
                : IsOfficialFile(fullPath) ? "torchvision-397923af" : "weights-" + Vgg16StateDictMapper.Fingerprint(plan);
            model = Vgg16OnnxGraph.Build(plan);
        }

        var preset = options.Preset ?? (keras ? PreprocessingPreset.KerasCaffe : PreprocessingPreset.Torchvision);
        var onnxOptions = new OnnxExtractorOptions { BatchSize = options.BatchSize, ThreadCount = options.ThreadCount, DecoderOptions = options.DecoderOptions };
        var spec = new OnnxModelSpec { Name = "vgg16", InputName = Vgg16OnnxGraph.InputName, OutputName = Vgg16OnnxGraph.OutputName, InputSize = ImagePreprocessor.InputSize };
        var modelId = $"vgg16-fc2/{weightsId}/{(preset == PreprocessingPreset.KerasCaffe ? "keras-caffe" : "torchvision")}";
        return OnnxFeatureExtractor.FromGraph(
            model, fullPath, Vgg16OnnxGraph.InputName, Vgg16OnnxGraph.OutputName, spec, new ImagePreprocessor(preset, options.DecoderOptions), onnxOptions, modelId, Vgg16FeatureExtractor.FeatureDimension, stopwatch);
    }

    private static bool IsOfficialKerasFile(string path)
        => string.Equals(Path.GetFileName(path), Vgg16Weights.KerasFileName, StringComparison.Ordinal)
           && new FileInfo(path).Length == Vgg16Weights.KerasLength;

    private static bool IsOfficialFile(string path)
        => string.Equals(Path.GetFileName(path), Vgg16Weights.OfficialFileName, StringComparison.Ordinal)
           && new FileInfo(path).Length == Vgg16Weights.OfficialLength;
}
