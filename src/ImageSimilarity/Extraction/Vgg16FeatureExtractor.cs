using System.Diagnostics;
using System.Runtime.InteropServices;
using ImageSimilarity.Extraction.Weights;
using ImageSimilarity.Imaging;
using TorchSharp;
using static TorchSharp.torch;

namespace ImageSimilarity.Extraction;

/// <summary>
/// VGG16 fc2 features (4096 floats: ReLU after torchvision's <c>classifier.3</c>) computed with TorchSharp on the CPU
/// from a real pretrained weights file: torchvision <c>.pth</c> (zip or legacy format), safetensors (torchvision or
/// timm names) or Keras' HDF5 weights (<c>.h5</c>). No Python is involved and nothing in the file is ever executed.
/// </summary>
/// <remarks>
/// <para>Thread-safety: all members are thread-safe. Calls that reach the network are serialised on one model (one
/// forward pass at a time, each using all of libtorch's threads), so sharing one instance between threads is safe
/// and as fast as it gets on one machine; preprocessing of different calls still overlaps.</para>
/// <para>The instance owns the model: dispose it to free the ~530 MB of weights (fp32; half in bf16).</para>
/// </remarks>
public sealed class Vgg16FeatureExtractor : IPreprocessingFeatureExtractor, IAsyncDisposable
{
    /// <summary>The length of every feature vector.</summary>
    public const int FeatureDimension = Vgg16Network.FeatureDimension;

    private readonly Vgg16Network _network;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ScalarType _computeType;
    private readonly bool _channelsLast;
    private bool _disposed;

    private Vgg16FeatureExtractor(Vgg16Network network, Vgg16ExtractorOptions options, PreprocessingPreset preset, string weightsPath, string weightsId, TimeSpan loadTime, bool channelsLast)
    {
        _network = network;
        _channelsLast = channelsLast;
        _computeType = options.Precision == ComputePrecision.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32;
        BatchSize = options.BatchSize;
        Precision = options.Precision;
        WeightsPath = weightsPath;
        WeightsId = weightsId;
        LoadTime = loadTime;
        Preprocessor = new ImagePreprocessor(preset, options.DecoderOptions);
        ModelId = $"vgg16-fc2/{weightsId}/{PresetName(preset)}";
    }

    /// <summary>Gets the network (for benchmarks and experiments).</summary>
    internal Vgg16Network Network => _network;

    /// <inheritdoc/>
    public int Dimension => FeatureDimension;

    /// <inheritdoc/>
    /// <remarks>
    /// <c>vgg16-fc2/&lt;weights&gt;/&lt;preset&gt;</c>, e.g. <c>vgg16-fc2/torchvision-397923af/torchvision</c>. The weights
    /// part is <c>torchvision-397923af</c> for the official file, <c>keras-64373286</c> for Keras' official
    /// <see cref="Vgg16Weights.KerasFileName"/> (name and size match; the digits start its MD5), else <c>weights-</c>
    /// (<c>keras-</c> for any other Keras .h5) and 8 hex digits of a hash of the first layer and the biases in the
    /// model's layout (the same for the same weights in any file format). The precision is not part of
    /// it: fp32 and bf16 vectors of the same weights are comparable.
    /// </remarks>
    public string ModelId { get; }

    /// <summary>Gets the preprocessor that turns an image into this model's 3x224x224 input; it is thread-safe.</summary>
    public ImagePreprocessor Preprocessor { get; }

    /// <inheritdoc/>
    IImagePreprocessor IPreprocessingFeatureExtractor.Preprocessor => Preprocessor;

    /// <summary>Gets how many images go through the network at once (<see cref="Vgg16ExtractorOptions.BatchSize"/>).</summary>
    public int BatchSize { get; }

    /// <summary>Gets the compute precision.</summary>
    public ComputePrecision Precision { get; }

    /// <summary>Gets the full path of the weights file that was loaded.</summary>
    public string WeightsPath { get; }

    /// <summary>Gets the weights part of <see cref="ModelId"/>.</summary>
    public string WeightsId { get; }

    /// <summary>Gets how long reading the weights into the model took.</summary>
    public TimeSpan LoadTime { get; }

    /// <summary>
    /// Resolves the weights (<see cref="Vgg16ExtractorOptions.WeightsPath"/>, else <see cref="Vgg16Weights.ResolveAsync"/>:
    /// environment variable, cache, download) and loads them.
    /// </summary>
    /// <param name="options">The options; <see langword="null"/> for <see cref="Vgg16ExtractorOptions.Default"/>.</param>
    /// <param name="progress">Receives download progress when the weights have to be downloaded.</param>
    /// <param name="cancellationToken">Cancels resolution and download (loading itself is not interrupted).</param>
    /// <returns>The extractor; the caller disposes it.</returns>
    /// <exception cref="WeightsFileException">The weights cannot be found, downloaded or used; the message lists what is wrong.</exception>
    /// <exception cref="OperationCanceledException">The operation was cancelled.</exception>
    public static async Task<Vgg16FeatureExtractor> CreateAsync(
        Vgg16ExtractorOptions? options = null,
        IProgress<WeightsDownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        options ??= Vgg16ExtractorOptions.Default;
        var path = await Vgg16Weights.ResolveAsync(options.WeightsPath, options.Download, progress, cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return await Task.Run(() => Load(path, options), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Loads a weights file synchronously (a .pth in zip or legacy format, .safetensors or Keras .h5; detected from the content).</summary>
    /// <param name="weightsPath">The weights file.</param>
    /// <param name="options">Preset (<see langword="null"/>: keras-caffe for Keras weights, else torchvision), precision, batch size and threads; its <see cref="Vgg16ExtractorOptions.WeightsPath"/> is ignored.</param>
    /// <returns>The extractor; the caller disposes it.</returns>
    /// <exception cref="ArgumentException"><paramref name="weightsPath"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="weightsPath"/> is <see langword="null"/>.</exception>
    /// <exception cref="WeightsFileException">The file is missing, unsafe, truncated or does not fit VGG16; the message lists every problem.</exception>
    public static Vgg16FeatureExtractor Load(string weightsPath, Vgg16ExtractorOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(weightsPath);
        options ??= Vgg16ExtractorOptions.Default;
        var stopwatch = Stopwatch.StartNew();
        var fullPath = Path.GetFullPath(weightsPath);
        torch.set_num_threads(options.ThreadCount > 0 ? options.ThreadCount : Environment.ProcessorCount);
        using var stateDict = WeightsFileReader.Open(fullPath);
        var plan = Vgg16StateDictMapper.Plan(stateDict);
        var channelsLast = ChannelsLast.Enabled;
        var network = new Vgg16Network(options.Precision == ComputePrecision.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32);
        try
        {
            Vgg16StateDictMapper.Load(network, plan);
            if (channelsLast)
            {
                ChannelsLast.ConvertWeights(network);
            }

            var keras = stateDict.Format == KerasWeightsReader.FormatName;
            var weightsId = keras
                ? "keras-" + (IsOfficialKerasFile(fullPath) ? Vgg16Weights.KerasMd5[..8] : Vgg16StateDictMapper.Fingerprint(plan))
                : IsOfficialFile(fullPath) ? "torchvision-397923af" : "weights-" + Vgg16StateDictMapper.Fingerprint(plan);
            var preset = options.Preset ?? (keras ? PreprocessingPreset.KerasCaffe : PreprocessingPreset.Torchvision);
            return new Vgg16FeatureExtractor(network, options, preset, fullPath, weightsId, stopwatch.Elapsed, channelsLast);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<float[]>> ExtractAsync(IReadOnlyList<ImageInput> images, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var results = new List<float[]>(images.Count);
        for (var start = 0; start < images.Count; start += BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(BatchSize, images.Count - start);
            var batch = new PreprocessedImage[count];
            await Parallel.ForAsync(0, count, cancellationToken, async (i, ct) =>
                batch[i] = await Preprocessor.PreprocessAsync(images[start + i], ct).ConfigureAwait(false)).ConfigureAwait(false);
            results.AddRange(await RunBatchAsync(batch, cancellationToken).ConfigureAwait(false));
        }

        return results;
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<float[]>> ExtractPreprocessedAsync(IReadOnlyList<PreprocessedImage> images, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        ObjectDisposedException.ThrowIf(_disposed, this);
        return await PreprocessedBatches.RunAsync(images, ImagePreprocessor.InputSize, "VGG16", BatchSize, RunBatchAsync, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Frees the model; waits for a running forward pass first, so the weights are not freed under it.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _gate.Wait();
        DisposeUnderGate();
    }

    /// <summary>Frees the model; waits asynchronously for a running forward pass first.</summary>
    /// <returns>A task that completes when the model is freed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        await _gate.WaitAsync().ConfigureAwait(false);
        DisposeUnderGate();
    }

    private void DisposeUnderGate()
    {
        try
        {
            if (!_disposed)
            {
                _disposed = true;
                _network.Dispose();
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    internal static string PresetName(PreprocessingPreset preset) => preset switch
    {
        PreprocessingPreset.KerasCaffe => "keras-caffe",
        _ => "torchvision",
    };

    private static bool IsOfficialKerasFile(string path)
        => string.Equals(Path.GetFileName(path), Vgg16Weights.KerasFileName, StringComparison.Ordinal)
           && new FileInfo(path).Length == Vgg16Weights.KerasLength;

    private static bool IsOfficialFile(string path)
        => string.Equals(Path.GetFileName(path), Vgg16Weights.OfficialFileName, StringComparison.Ordinal)
           && new FileInfo(path).Length == Vgg16Weights.OfficialLength;

    private async Task<float[][]> RunBatchAsync(PreprocessedImage[] batch, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);

            // Dispose scopes and inference mode are thread-static: the whole forward pass runs on this one thread.
            return await Task.Run(() => Forward(batch), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private float[][] Forward(PreprocessedImage[] batch)
    {
        using var inference = torch.inference_mode();
        using var scope = NewDisposeScope();
        var length = ImagePreprocessor.InputLength;
        var input = empty([batch.Length, 3, ImagePreprocessor.InputSize, ImagePreprocessor.InputSize], ScalarType.Float32);
        var inputSpan = MemoryMarshal.Cast<byte, float>(input.bytes);
        for (var i = 0; i < batch.Length; i++)
        {
            batch[i].Data.Span.CopyTo(inputSpan.Slice(i * length, length));
        }

        // Channels-last input (and weights, converted at load) keeps libtorch's oneDNN convolutions in NHWC: see ChannelsLast.
        var x = _computeType == ScalarType.Float32 ? input : input.to(_computeType);
        if (_channelsLast)
        {
            x = ChannelsLast.From(x);
        }
        var output = _network.forward(x);
        if (output.dtype != ScalarType.Float32)
        {
            output = output.to(ScalarType.Float32);
        }

        output = output.contiguous();
        var outputSpan = MemoryMarshal.Cast<byte, float>(output.bytes);
        var result = new float[batch.Length][];
        for (var i = 0; i < batch.Length; i++)
        {
            result[i] = outputSpan.Slice(i * FeatureDimension, FeatureDimension).ToArray();
        }

        return result;
    }
}
