using System.Diagnostics;
using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>
/// Feature vectors from an ONNX image model run with ONNX Runtime on the CPU: the built-in pretrained ResNet18
/// (<see cref="ResNet18Model"/>) or any image model described by an <see cref="OnnxModelSpec"/>.
/// </summary>
/// <remarks>
/// <para>Batched: a file whose batch dimension is fixed to 1 gets a dynamic one (the graph's input, outputs and
/// constant reshapes are edited in memory; the file is not changed), so one run takes <see cref="OnnxExtractorOptions.BatchSize"/> images.</para>
/// <para>Thread-safety: all members are thread-safe. Model runs are serialised (one run at a time, each using all of
/// ONNX Runtime's threads); decoding of different calls overlaps.</para>
/// </remarks>
public sealed class OnnxFeatureExtractor : IPreprocessingFeatureExtractor
{
    private readonly InferenceSession _session;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly int _batchSize;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private bool _disposed;

    private OnnxFeatureExtractor(InferenceSession session, OnnxModelFile file, OnnxModelSpec spec, OnnxExtractorOptions options, string modelId, int dimension, TimeSpan loadTime)
        : this(session, file.Path, file.InputName, file.OutputName, file.BatchIsDynamic, file.BatchMadeDynamic, spec, new OnnxImagePreprocessor(spec, options.DecoderOptions), options, modelId, dimension, loadTime)
    {
    }

    private OnnxFeatureExtractor(
        InferenceSession session,
        string modelPath,
        string inputName,
        string outputName,
        bool batchIsDynamic,
        bool batchMadeDynamic,
        OnnxModelSpec spec,
        IImagePreprocessor preprocessor,
        OnnxExtractorOptions options,
        string modelId,
        int dimension,
        TimeSpan loadTime)
    {
        _session = session;
        Spec = spec;
        Preprocessor = preprocessor;
        ModelPath = modelPath;
        BatchIsDynamic = batchIsDynamic;
        BatchMadeDynamic = batchMadeDynamic;
        _batchSize = batchIsDynamic ? options.BatchSize : 1;
        _inputNames = [inputName];
        _outputNames = [outputName];
        ModelId = modelId;
        Dimension = dimension;
        LoadTime = loadTime;
    }

    /// <inheritdoc/>
    public int Dimension { get; }

    /// <inheritdoc/>
    /// <remarks>
    /// <c>&lt;name&gt;/onnx-&lt;file hash&gt;/&lt;preprocessing&gt;</c>: the spec's name, 8 hex digits of the SHA-256 of the model
    /// file's content, and a short code of the preprocessing (resize, channel order, layout, a hash of the scaling
    /// and means, the mean image's hash, the pooling). Two extractors give comparable vectors when their ids are equal.
    /// </remarks>
    public string ModelId { get; }

    /// <summary>Gets the model's input description (for the built-in VGG16: its size and layout; the preprocessing is the core's preset).</summary>
    public OnnxModelSpec Spec { get; }

    /// <summary>
    /// Gets the preprocessor that turns an image into this model's input (an <see cref="OnnxImagePreprocessor"/>, or the
    /// core's <see cref="ImagePreprocessor"/> for VGG16); it is thread-safe.
    /// </summary>
    public IImagePreprocessor Preprocessor { get; }

    /// <summary>Gets the full path of the model file.</summary>
    public string ModelPath { get; }

    /// <summary>Gets a value indicating whether one run takes several images.</summary>
    public bool BatchIsDynamic { get; }

    /// <summary>Gets a value indicating whether the file fixed the batch to 1 and the graph was edited to take any batch.</summary>
    public bool BatchMadeDynamic { get; }

    /// <summary>Gets how long reading the file and creating the ONNX Runtime session took.</summary>
    public TimeSpan LoadTime { get; }

    /// <summary>Loads an ONNX image model.</summary>
    /// <param name="modelPath">The .onnx file.</param>
    /// <param name="spec">How images become the model's input and its output a vector.</param>
    /// <param name="options">Batch size, threads, decoding; <see langword="null"/> for <see cref="OnnxExtractorOptions.Default"/>.</param>
    /// <returns>The extractor; the caller disposes it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="modelPath"/> or <paramref name="spec"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The spec or options are not valid.</exception>
    /// <exception cref="OnnxModelException">The file is missing or not ONNX, or its input or output does not match the spec; the message names the file and what to change.</exception>
    public static OnnxFeatureExtractor Load(string modelPath, OnnxModelSpec spec, OnnxExtractorOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        options ??= OnnxExtractorOptions.Default;
        options.Validate();

        var stopwatch = Stopwatch.StartNew();
        var fullPath = Path.GetFullPath(modelPath);
        var file = OnnxModelFile.Read(fullPath, spec, options.MakeBatchDynamic);
        var meanImageId = spec.MeanImage.IsEmpty ? string.Empty : Hashing.ShortHash(spec.MeanImage.Span);
        var modelId = $"{spec.Name}/onnx-{Hashing.ShortFileHash(fullPath)}/{spec.PreprocessingId(meanImageId)}";
        if (file.Model.Graph.Output.Count > 1)
        {
            modelId += "/" + Hashing.ShortHash(file.OutputName);
        }

        var session = CreateSession(fullPath, file.ToBytes(), options);
        try
        {
            var dimension = FeatureDimension(session, file, spec);
            return new OnnxFeatureExtractor(session, file, spec, options, modelId, dimension, stopwatch.Elapsed);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Loads an ONNX image model on a worker thread.</summary>
    /// <param name="modelPath">The .onnx file.</param>
    /// <param name="spec">How images become the model's input and its output a vector.</param>
    /// <param name="options">Batch size, threads, decoding; <see langword="null"/> for <see cref="OnnxExtractorOptions.Default"/>.</param>
    /// <param name="cancellationToken">Cancels before loading starts.</param>
    /// <returns>The extractor; the caller disposes it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="modelPath"/> or <paramref name="spec"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The spec or options are not valid.</exception>
    /// <exception cref="OnnxModelException">The file is missing or not ONNX, or its input or output does not match the spec.</exception>
    /// <exception cref="OperationCanceledException">The operation was cancelled.</exception>
    public static Task<OnnxFeatureExtractor> LoadAsync(string modelPath, OnnxModelSpec spec, OnnxExtractorOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        ArgumentNullException.ThrowIfNull(spec);
        return Task.Run(() => Load(modelPath, spec, options), cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<float[]>> ExtractAsync(IReadOnlyList<ImageInput> images, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var results = new List<float[]>(images.Count);
        for (var start = 0; start < images.Count; start += _batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(_batchSize, images.Count - start);
            var batch = new PreprocessedImage[count];
            await Parallel.ForAsync(0, count, cancellationToken, (i, _) =>
            {
                batch[i] = Preprocessor.Preprocess(images[start + i]);
                return ValueTask.CompletedTask;
            }).ConfigureAwait(false);
            results.AddRange(await RunBatchAsync(batch, cancellationToken).ConfigureAwait(false));
        }

        return results;
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<float[]>> ExtractPreprocessedAsync(IReadOnlyList<PreprocessedImage> images, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return await PreprocessedBatches.RunAsync(images, Spec.InputSize, $"the model '{Spec.Name}'", _batchSize, RunBatchAsync, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        // Wait for a running model call so the session is not freed under it.
        _gate.Wait();
        try
        {
            if (!_disposed)
            {
                _disposed = true;
                _session.Dispose();
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Creates an extractor for a graph built in memory (VGG16 from a weights file).</summary>
    internal static OnnxFeatureExtractor FromGraph(byte[] model, string sourcePath, string inputName, string outputName, OnnxModelSpec spec, IImagePreprocessor preprocessor, OnnxExtractorOptions options, string modelId, int dimension, Stopwatch started)
    {
        var session = CreateSession(sourcePath, model, options);
        return new OnnxFeatureExtractor(session, sourcePath, inputName, outputName, batchIsDynamic: true, batchMadeDynamic: false, spec, preprocessor, options, modelId, dimension, started.Elapsed);
    }

    /// <summary>Creates the ONNX Runtime session; a model ONNX Runtime refuses becomes an <see cref="OnnxModelException"/>.</summary>
    internal static InferenceSession CreateSession(string path, byte[] model, int threadCount) => CreateSession(path, model, new OnnxExtractorOptions { ThreadCount = threadCount });

    /// <summary>Creates the ONNX Runtime session with the extractor's threads and spinning; a model ONNX Runtime refuses becomes an <see cref="OnnxModelException"/>.</summary>
    internal static InferenceSession CreateSession(string path, byte[] model, OnnxExtractorOptions extractorOptions)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = extractorOptions.ThreadCount > 0 ? extractorOptions.ThreadCount : Environment.ProcessorCount,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", extractorOptions.SpinWait ? "1" : "0");
        try
        {
            return new InferenceSession(model, options);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new OnnxModelException(path, $"ONNX Runtime cannot load the model '{path}': {ex.Message}. Check that it was exported with an opset ONNX Runtime {OrtVersion} supports.", ex);
        }
    }

    private static string OrtVersion => typeof(InferenceSession).Assembly.GetName().Version?.ToString(3) ?? "?";

    private static int FeatureDimension(InferenceSession session, OnnxModelFile file, OnnxModelSpec spec)
    {
        if (!session.OutputMetadata.TryGetValue(file.OutputName, out var meta))
        {
            throw new OnnxModelException(file.Path, $"ONNX Runtime does not list the output '{file.OutputName}' of '{file.Path}'.");
        }

        var dims = meta.Dimensions;
        if (meta.ElementDataType != TensorElementType.Float)
        {
            throw new OnnxModelException(file.Path, $"The output '{file.OutputName}' of '{file.Path}' has element type {meta.ElementDataType}; only float outputs can be feature vectors.");
        }

        if (spec.Pooling == OutputPooling.GlobalAverage)
        {
            if (dims.Length != 4 || dims[1] <= 0)
            {
                throw new OnnxModelException(file.Path, $"The output '{file.OutputName}' of '{file.Path}' has shape [{string.Join(", ", dims)}]; global average pooling needs [N, channels, height, width] with a known channel count.");
            }

            return dims[1];
        }

        if (dims.Length < 2 || dims.Skip(1).Any(d => d <= 0))
        {
            throw new OnnxModelException(file.Path, $"The output '{file.OutputName}' of '{file.Path}' has shape [{string.Join(", ", dims)}]; flattening needs every dimension after the batch to be known.");
        }

        return dims.Skip(1).Aggregate(1, (a, d) => checked(a * d));
    }

    private async Task<float[][]> RunBatchAsync(PreprocessedImage[] batch, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return await Task.Run(() => Run(batch), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private float[][] Run(PreprocessedImage[] batch)
    {
        var size = Spec.InputSize;
        var length = 3 * size * size;
        var input = GC.AllocateUninitializedArray<float>(batch.Length * length);
        for (var i = 0; i < batch.Length; i++)
        {
            var destination = input.AsSpan(i * length, length);
            if (Spec.Layout == TensorLayout.Nchw)
            {
                batch[i].Data.Span.CopyTo(destination);
            }
            else
            {
                ToHwc(batch[i].Data.Span, destination, size * size);
            }
        }

        long[] shape = Spec.Layout == TensorLayout.Nchw ? [batch.Length, 3, size, size] : [batch.Length, size, size, 3];
        using var value = OrtValue.CreateTensorValueFromMemory(input, shape);
        using var runOptions = new RunOptions();
        using var outputs = _session.Run(runOptions, _inputNames, [value], _outputNames);
        var output = outputs[0];
        var outShape = output.GetTensorTypeAndShape().Shape;
        var data = output.GetTensorDataAsSpan<float>();
        if (outShape.Length == 0 || outShape[0] != batch.Length)
        {
            throw new InvalidOperationException($"The model '{ModelPath}' returned shape [{string.Join(", ", outShape)}] for a batch of {batch.Length}.");
        }

        var perImage = data.Length / batch.Length;
        var results = new float[batch.Length][];
        for (var i = 0; i < batch.Length; i++)
        {
            var slice = data.Slice(i * perImage, perImage);
            results[i] = Spec.Pooling == OutputPooling.GlobalAverage ? GlobalAverage(slice, (int)outShape[1]) : slice.ToArray();
        }

        return results;
    }

    /// <summary>Runs the model with extra outputs and returns each one's (min, max) over <paramref name="images"/> (int8 calibration).</summary>
    internal async Task<IReadOnlyList<(float Min, float Max)>> ActivationRangesAsync(IReadOnlyList<PreprocessedImage> images, int count, Func<int, string> name, CancellationToken cancellationToken)
    {
        var ranges = Enumerable.Repeat((Min: float.PositiveInfinity, Max: float.NegativeInfinity), count).ToArray();
        var names = Enumerable.Range(0, count).Select(name).ToArray();
        for (var start = 0; start < images.Count; start += _batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = images.Skip(start).Take(_batchSize).ToArray();
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await Task.Run(
                    () =>
                    {
                        var size = Spec.InputSize;
                        var input = new float[batch.Length * 3 * size * size];
                        for (var i = 0; i < batch.Length; i++)
                        {
                            batch[i].Data.Span.CopyTo(input.AsSpan(i * 3 * size * size));
                        }

                        using var value = OrtValue.CreateTensorValueFromMemory(input, [batch.Length, 3, size, size]);
                        using var runOptions = new RunOptions();
                        using var outputs = _session.Run(runOptions, _inputNames, [value], names);
                        for (var k = 0; k < count; k++)
                        {
                            var data = outputs[k].GetTensorDataAsSpan<float>();
                            ranges[k] = (Math.Min(ranges[k].Min, System.Numerics.Tensors.TensorPrimitives.Min(data)), Math.Max(ranges[k].Max, System.Numerics.Tensors.TensorPrimitives.Max(data)));
                        }
                    },
                    cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _gate.Release();
            }
        }

        return ranges.Select(r => (r.Min, r.Max)).ToArray();
    }

    private static float[] GlobalAverage(ReadOnlySpan<float> chw, int channels)
    {
        var plane = chw.Length / channels;
        var result = new float[channels];
        for (var c = 0; c < channels; c++)
        {
            result[c] = System.Numerics.Tensors.TensorPrimitives.Sum(chw.Slice(c * plane, plane)) / plane;
        }

        return result;
    }

    private static void ToHwc(ReadOnlySpan<float> chw, Span<float> hwc, int plane)
    {
        for (var p = 0; p < plane; p++)
        {
            hwc[(p * 3) + 0] = chw[p];
            hwc[(p * 3) + 1] = chw[plane + p];
            hwc[(p * 3) + 2] = chw[(2 * plane) + p];
        }
    }
}
