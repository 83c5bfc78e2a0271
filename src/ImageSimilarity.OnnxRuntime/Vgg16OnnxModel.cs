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
        return Load(weightsPath, options ?? Vgg16ExtractorOptions.Default, exposeActivations: false, ranges: null);
    }

    private static OnnxFeatureExtractor Load(string weightsPath, Vgg16ExtractorOptions options, bool exposeActivations, IReadOnlyList<(float Min, float Max)>? ranges)
    {
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
            model = ranges is null ? Vgg16OnnxGraph.Build(plan, exposeActivations) : Vgg16OnnxGraph.BuildInt8(plan, ranges);
        }

        var preset = options.Preset ?? (keras ? PreprocessingPreset.KerasCaffe : PreprocessingPreset.Torchvision);
        var onnxOptions = new OnnxExtractorOptions { BatchSize = options.BatchSize, ThreadCount = options.ThreadCount, DecoderOptions = options.DecoderOptions };
        var spec = new OnnxModelSpec { Name = "vgg16", InputName = Vgg16OnnxGraph.InputName, OutputName = Vgg16OnnxGraph.OutputName, InputSize = ImagePreprocessor.InputSize };
        var modelId = $"vgg16-fc2/{weightsId}/{(preset == PreprocessingPreset.KerasCaffe ? "keras-caffe" : "torchvision")}";
        return OnnxFeatureExtractor.FromGraph(
            model, fullPath, Vgg16OnnxGraph.InputName, Vgg16OnnxGraph.OutputName, spec, new ImagePreprocessor(preset, options.DecoderOptions), onnxOptions, modelId, Vgg16FeatureExtractor.FeatureDimension, stopwatch);
    }

    /// <summary>
    /// Builds an int8 VGG16 (QDQ graph, built in C#): the convolutions' weights quantised per output channel, their
    /// activations to uint8 with ranges calibrated by running the fp32 graph on <paramref name="calibrationImages"/>;
    /// fc1 and fc2 stay fp32. Same preprocessing and <see cref="IFeatureExtractor.ModelId"/> as the fp32 engines (like
    /// bf16, the vectors are close to fp32's, not equal: see docs/models.md for the measured cosine).
    /// </summary>
    /// <param name="weightsPath">The weights file.</param>
    /// <param name="calibrationImages">A few typical images (8 or more recommended); the activation ranges come from them.</param>
    /// <param name="options">Preset, batch size and threads; the precision must be fp32 (the int8 choice is this method). <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels between calibration batches.</param>
    /// <returns>The extractor; the caller disposes it.</returns>
    /// <exception cref="ArgumentException"><paramref name="weightsPath"/> is empty, <paramref name="calibrationImages"/> is empty, or a precision other than fp32 was asked for.</exception>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="WeightsFileException">The weights file cannot be used.</exception>
    /// <exception cref="ImageDecodeException">A calibration image cannot be decoded.</exception>
    /// <exception cref="OperationCanceledException">The operation was cancelled.</exception>
    public static async Task<OnnxFeatureExtractor> LoadInt8Async(string weightsPath, IReadOnlyList<ImageInput> calibrationImages, Vgg16ExtractorOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(weightsPath);
        ArgumentNullException.ThrowIfNull(calibrationImages);
        if (calibrationImages.Count == 0)
        {
            throw new ArgumentException("At least one calibration image is needed.", nameof(calibrationImages));
        }

        options ??= Vgg16ExtractorOptions.Default;
        using var calibration = Load(weightsPath, options, exposeActivations: true, ranges: null);
        var prepared = calibrationImages.Select(calibration.Preprocessor.Preprocess).ToList();
        var ranges = await calibration.ActivationRangesAsync(prepared, Vgg16OnnxGraph.ConvolutionCount + 1, Vgg16OnnxGraph.ActivationName, cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return await Task.Run(() => Load(weightsPath, options, exposeActivations: false, ranges), cancellationToken).ConfigureAwait(false);
    }

    private static bool IsOfficialKerasFile(string path)
        => string.Equals(Path.GetFileName(path), Vgg16Weights.KerasFileName, StringComparison.Ordinal)
           && new FileInfo(path).Length == Vgg16Weights.KerasLength;

    private static bool IsOfficialFile(string path)
        => string.Equals(Path.GetFileName(path), Vgg16Weights.OfficialFileName, StringComparison.Ordinal)
           && new FileInfo(path).Length == Vgg16Weights.OfficialLength;
}
