using System.Diagnostics;
using System.Threading.Channels;
using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;
using Microsoft.Extensions.Options;

namespace SearchByImage.Web.Services;

/// <summary>
/// The one way from an uploaded image to a feature vector: a bounded number of uploads are admitted, decoded a few at
/// a time, and the waiting ones go through the shared extractor together in batches.
/// </summary>
/// <remarks>
/// Extractors that expose their preprocessing (<see cref="IPreprocessingFeatureExtractor"/>, as VGG16 does) have
/// uploads decoded on the request's thread, a few at a time, so a batch holds only small model inputs; other
/// extractors get the encoded bytes. Admission is bounded by <see cref="WebAppOptions.MaxQueuedExtractions"/>: when that many uploads are already
/// waiting or running, <see cref="ExtractAsync"/> throws <see cref="ExtractionQueueFullException"/> at once (the API
/// answers 503 with Retry-After) instead of letting memory grow. A request that is cancelled while it waits leaves
/// the queue without being extracted.
/// </remarks>
internal sealed class ExtractionQueue : BackgroundService
{
    private readonly Lazy<IFeatureExtractor> _extractor;
    private readonly SemaphoreSlim _decodeGate;
    private readonly Channel<WorkItem> _channel = Channel.CreateUnbounded<WorkItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ILogger<ExtractionQueue> _logger;
    private readonly int _limit;
    private readonly int _maxBatch;
    private int _pending;
    private long _secondsPerImageBits = BitConverter.DoubleToInt64Bits(1.0);

    public ExtractionQueue(IServiceProvider services, IOptions<WebAppOptions> options, ILogger<ExtractionQueue> logger)
    {
        var o = options.Value;

        // The library loads the model when the host starts, after this service is built: resolve it on first use.
        _extractor = new Lazy<IFeatureExtractor>(services.GetRequiredService<IFeatureExtractor>);
        _decodeGate = new SemaphoreSlim(o.DecodeConcurrency, o.DecodeConcurrency);
        _limit = o.MaxQueuedExtractions;
        _maxBatch = o.MaxBatch;
        _logger = logger;
    }

    /// <summary>Gets how many uploads are waiting for or in extraction.</summary>
    public int Pending => Volatile.Read(ref _pending);

    /// <summary>Gets the capacity of the queue.</summary>
    public int Capacity => _limit;

    /// <summary>Gets the recent average extraction time per image.</summary>
    public TimeSpan TimePerImage => TimeSpan.FromSeconds(BitConverter.Int64BitsToDouble(Interlocked.Read(ref _secondsPerImageBits)));

    /// <summary>Decodes an uploaded image (by content, with the library's pixel limit) and extracts its feature vector.</summary>
    /// <exception cref="ExtractionQueueFullException">The queue is full.</exception>
    /// <exception cref="ImageDecodeException">The upload is not a decodable image.</exception>
    public async Task<float[]> ExtractAsync(ReadOnlyMemory<byte> encoded, string name, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _pending) > _limit)
        {
            Interlocked.Decrement(ref _pending);
            throw new ExtractionQueueFullException(_limit, RetryAfter());
        }

        var handedOver = false;
        try
        {
            var input = ImageInput.FromBytes(encoded, name);
            PreprocessedImage? image = null;
            if (_extractor.Value is IPreprocessingFeatureExtractor preprocessing)
            {
                await _decodeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    image = await Task.Run(() => preprocessing.Preprocessor.Preprocess(input), cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    _decodeGate.Release();
                }
            }

            var item = new WorkItem(input, image, cancellationToken);
            if (!_channel.Writer.TryWrite(item))
            {
                throw new InvalidOperationException("The extraction queue is shutting down.");
            }

            handedOver = true;
            return await item.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (!handedOver)
            {
                Interlocked.Decrement(ref _pending);
            }
        }
    }

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reader = _channel.Reader;
        var batch = new List<WorkItem>(_maxBatch);
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                batch.Clear();
                while (batch.Count < _maxBatch && reader.TryRead(out var item))
                {
                    if (item.CancellationToken.IsCancellationRequested)
                    {
                        item.Completion.TrySetCanceled(item.CancellationToken);
                        Interlocked.Decrement(ref _pending);
                        continue;
                    }

                    batch.Add(item);
                }

                if (batch.Count > 0)
                {
                    await RunBatchAsync(batch, stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _channel.Writer.TryComplete();
            while (reader.TryRead(out var left))
            {
                left.Completion.TrySetCanceled(stoppingToken);
                Interlocked.Decrement(ref _pending);
            }
        }
    }

    private async Task RunBatchAsync(List<WorkItem> batch, CancellationToken stoppingToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var extractor = _extractor.Value;
            var vectors = extractor is IPreprocessingFeatureExtractor preprocessing && batch.TrueForAll(i => i.Image is not null)
                ? await preprocessing.ExtractPreprocessedAsync(batch.ConvertAll(i => i.Image!), stoppingToken).ConfigureAwait(false)
                : await extractor.ExtractAsync(batch.ConvertAll(i => i.Input), stoppingToken).ConfigureAwait(false);
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Completion.TrySetResult(vectors[i]);
            }

            var perImage = Stopwatch.GetElapsedTime(started).TotalSeconds / batch.Count;
            var average = BitConverter.Int64BitsToDouble(Interlocked.Read(ref _secondsPerImageBits));
            Interlocked.Exchange(ref _secondsPerImageBits, BitConverter.DoubleToInt64Bits((0.8 * average) + (0.2 * perImage)));
            _logger.LogDebug("Extracted a batch of {BatchSize} uploads in {ElapsedMs:F0} ms", batch.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Extraction of a batch of {BatchSize} uploads failed", batch.Count);
            foreach (var item in batch)
            {
                item.Completion.TrySetException(ex);
            }
        }
        finally
        {
            Interlocked.Add(ref _pending, -batch.Count);
        }
    }

    private TimeSpan RetryAfter()
    {
        // The time the current queue needs at the recent rate, at least a second and at most a minute.
        var seconds = Math.Ceiling(Pending * TimePerImage.TotalSeconds);
        return TimeSpan.FromSeconds(Math.Clamp(seconds, 1, 60));
    }

    private sealed class WorkItem(ImageInput input, PreprocessedImage? image, CancellationToken cancellationToken)
    {
        public ImageInput Input { get; } = input;

        public PreprocessedImage? Image { get; } = image;

        public CancellationToken CancellationToken { get; } = cancellationToken;

        public TaskCompletionSource<float[]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
