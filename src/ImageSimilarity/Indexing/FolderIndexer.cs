using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Threading.Channels;
using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;
using ImageSimilarity.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ImageSimilarity.Indexing;

/// <summary>
/// Indexes every image in a folder into a vector store: decoding and preprocessing run on worker threads while the
/// model extracts features in batches, and re-indexing only extracts files that are new or changed.
/// </summary>
/// <remarks>
/// <para>Every file gets an outcome (<see cref="FileIndexOutcome"/>); one bad file never stops the run. Memory stays
/// bounded whatever the folder size: at most a few batches of decoded images are in flight.</para>
/// <para>Records are keyed by the path relative to the folder and carry <see cref="RecordMetadata"/> (path, root, size,
/// last write time, SHA-256). A file whose size and last write time are unchanged is not read again; one whose content
/// hash is unchanged is not extracted again. Records of files that are gone are removed.</para>
/// <para>An extractor with the <see cref="IPreprocessingFeatureExtractor"/> capability has images decoded and preprocessed
/// on the worker threads; any other extractor gets the files' bytes and decodes them itself. The extractor decides
/// how many images go through its model at once: the indexer hands it what is ready (up to 32 images per call).</para>
/// <para>A store that saves explicitly (<see cref="IPersistentVectorStore"/>) is saved at checkpoints, at the end and when
/// the run is cancelled, so a stopped run resumes without redoing finished work. One run at a time per store.</para>
/// </remarks>
public sealed partial class FolderIndexer
{
    /// <summary>The most images handed to the extractor in one call (and the bound of the decoded-image queue).</summary>
    private const int MaxImagesPerCall = 32;

    private readonly IFeatureExtractor _extractor;
    private readonly IVectorStore _store;
    private readonly ILogger _logger;

    /// <summary>Initializes a new instance of the <see cref="FolderIndexer"/> class.</summary>
    /// <param name="extractor">The feature extractor.</param>
    /// <param name="store">The store that receives the vectors.</param>
    /// <param name="logger">Optional logger for the run's start, end and failed files.</param>
    /// <exception cref="ArgumentNullException"><paramref name="extractor"/> or <paramref name="store"/> is <see langword="null"/>.</exception>
    /// <exception cref="ModelMismatchException">The store holds vectors of another model or dimension.</exception>
    public FolderIndexer(IFeatureExtractor extractor, IVectorStore store, ILogger<FolderIndexer>? logger = null)
    {
        ModelMismatchException.ThrowIfIncompatible(extractor, store);

        _extractor = extractor;
        _store = store;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>Gets or sets how a file is read (path, name, size cap); tests replace it to simulate a read that blocks.</summary>
    internal Func<string, string, long, CancellationToken, ValueTask<byte[]>> ReadFile { get; set; } = ImageFileReader.ReadAsync;

    /// <summary>Gets or sets how long a cancelled run waits for decode workers that are stuck in a read before it returns without them.</summary>
    internal TimeSpan WorkerGracePeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Indexes the images in <paramref name="folder"/>.</summary>
    /// <param name="folder">The folder.</param>
    /// <param name="options">How to walk the folder and batch the work; <see langword="null"/> for <see cref="FolderIndexOptions.Default"/>.</param>
    /// <param name="progress">Receives progress after every file.</param>
    /// <param name="cancellationToken">Stops the run; finished work is kept (and saved, for stores that save explicitly).</param>
    /// <returns>Every file's outcome, counts and throughput.</returns>
    /// <exception cref="ArgumentException"><paramref name="folder"/> is empty.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="OperationCanceledException">The run was cancelled.</exception>
    public async Task<FolderIndexResult> IndexAsync(string folder, FolderIndexOptions? options = null, IProgress<IndexingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        options ??= FolderIndexOptions.Default;
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"The folder '{root}' does not exist. Check the path and try again.");
        }

        var run = new Run(this, root, options, progress);
        return await run.ExecuteAsync(cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Indexing {Folder}: {Files} files found, {Candidates} to read, {Stored} already stored")]
    private static partial void LogStart(ILogger logger, string folder, int files, int candidates, int stored);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Outcome} {Path}: {Reason}")]
    private static partial void LogFileProblem(ILogger logger, FileIndexOutcome outcome, string path, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Indexed {Folder} in {Seconds:F1} s: {Indexed} indexed, {Unchanged} unchanged, {Failed} failed, {Skipped} skipped, {Removed} removed ({Rate:F2} images/s)")]
    private static partial void LogEnd(ILogger logger, string folder, double seconds, int indexed, int unchanged, int failed, int skipped, int removed, double rate);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Checkpoint: store saved after {Done} files")]
    private static partial void LogCheckpoint(ILogger logger, int done);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Workers} decode worker(s) still blocked in a read after cancellation; the run returns without them")]
    private static partial void LogAbandonedWorkers(ILogger logger, int workers);

    private sealed record Candidate(string Id, string FullPath, long Size, DateTime LastWriteUtc, IReadOnlyDictionary<string, string>? Existing);

    /// <summary>
    /// A file read and hashed by a worker: preprocessed for the model (<paramref name="Image"/>), its bytes for an
    /// extractor without the preprocessing capability (<paramref name="Encoded"/>), or neither when the content is
    /// unchanged and only the file times are new.
    /// </summary>
    private sealed record Prepared(Candidate File, string Sha256, PreprocessedImage? Image, ImageInput? Encoded)
    {
        public bool IsUnchangedContent => Image is null && Encoded is null;
    }

    private sealed class Run
    {
        private readonly FolderIndexer _owner;
        private readonly string _root;
        private readonly FolderIndexOptions _options;
        private readonly IProgress<IndexingProgress>? _progress;
        private readonly List<FileIndexResult> _results = [];
        private readonly Lock _gate = new();
        private readonly Stopwatch _clock = new();
        private readonly Stopwatch _extraction = new();
        private int _total;
        private int _indexed;
        private int _unchanged;
        private int _failed;
        private int _skipped;
        private TimeSpan _lastCheckpoint;
        private volatile bool _closed;

        public Run(FolderIndexer owner, string root, FolderIndexOptions options, IProgress<IndexingProgress>? progress)
        {
            _owner = owner;
            _root = root;
            _options = options;
            _progress = progress;
        }

        public async Task<FolderIndexResult> ExecuteAsync(CancellationToken cancellationToken)
        {
            _clock.Start();
            // Only the metadata of the stored records is kept (not their vectors): a large index is listed once
            // without holding a second copy of its vectors.
            var stored = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
            await foreach (var record in _owner._store.ListAsync(cancellationToken).ConfigureAwait(false))
            {
                if (record.Metadata.TryGetValue(RecordMetadata.Root, out var r) && string.Equals(r, _root, StringComparison.Ordinal))
                {
                    stored[record.Id] = record.Metadata;
                }
            }

            var (files, leftOut) = new FolderWalker(_root, _options).Walk(cancellationToken);
            _total = files.Count + leftOut.Count;
            foreach (var result in leftOut)
            {
                Record(result);
            }

            var toRead = new List<Candidate>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (id, path, realPath) in files)
            {
                seen.Add(id);
                FileInfo info;
                try
                {
                    // The real file's size and time, not the link's own.
                    info = new FileInfo(realPath);
                    _ = info.Length;
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    Record(new FileIndexResult(id, path, FileIndexOutcome.Failed, "the file could not be read: " + ex.Message));
                    continue;
                }

                stored.TryGetValue(id, out var existing);
                var candidate = new Candidate(id, path, info.Length, info.LastWriteTimeUtc, existing);
                if (existing is not null && SameFileStamp(existing, candidate))
                {
                    Record(new FileIndexResult(id, path, FileIndexOutcome.Unchanged));
                }
                else
                {
                    toRead.Add(candidate);
                }
            }

            LogStart(_owner._logger, _root, files.Count, toRead.Count, stored.Count);
            try
            {
                await ProcessAsync(toRead, cancellationToken).ConfigureAwait(false);
                if (_options.RemoveMissing)
                {
                    foreach (var gone in stored.Keys.Where(id => !seen.Contains(id)).Order(StringComparer.Ordinal))
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        var path = stored[gone].GetValueOrDefault(RecordMetadata.Path) ?? Path.Combine(_root, gone);
                        if (await _owner._store.DeleteAsync(gone, cancellationToken).ConfigureAwait(false))
                        {
                            Record(new FileIndexResult(gone, path, FileIndexOutcome.Removed));
                        }
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // Keep what was finished: the next run resumes from it.
                await SaveAsync(CancellationToken.None).ConfigureAwait(false);
                throw;
            }

            if (_options.SaveWhenDone)
            {
                await SaveAsync(cancellationToken).ConfigureAwait(false);
            }

            _clock.Stop();
            List<FileIndexResult> results;
            lock (_gate)
            {
                results = [.. _results.OrderBy(r => r.Id, StringComparer.Ordinal)];
            }

            var summary = new FolderIndexResult(_root, results, _clock.Elapsed, _extraction.Elapsed);
            LogEnd(_owner._logger, _root, _clock.Elapsed.TotalSeconds, summary.Indexed, summary.Unchanged, summary.Failed, summary.Skipped, summary.Removed, summary.ImagesPerSecond);
            return summary;
        }

        private static bool SameFileStamp(IReadOnlyDictionary<string, string> existing, Candidate file) =>
            existing.TryGetValue(RecordMetadata.Size, out var size)
            && existing.TryGetValue(RecordMetadata.LastWriteUtc, out var mtime)
            && size == file.Size.ToString(CultureInfo.InvariantCulture)
            && mtime == file.LastWriteUtc.ToString("O", CultureInfo.InvariantCulture);

        private async Task ProcessAsync(List<Candidate> toRead, CancellationToken cancellationToken)
        {
            if (toRead.Count == 0)
            {
                return;
            }

            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var token = linked.Token;
            var prepared = Channel.CreateBounded<Prepared>(new BoundedChannelOptions(MaxImagesPerCall)
            {
                SingleReader = true,
                FullMode = BoundedChannelFullMode.Wait,
            });
            var next = -1;
            var workers = Enumerable.Range(0, Math.Min(_options.DecodeWorkers, toRead.Count))
                .Select(_ => Task.Run(() => DecodeLoopAsync(toRead, () => Interlocked.Increment(ref next), prepared.Writer, token), token))
                .ToArray();
            var completion = Task.WhenAll(workers).ContinueWith(
                t => prepared.Writer.TryComplete(t.Exception?.GetBaseException()),
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);

            try
            {
                await ConsumeAsync(prepared.Reader, token).ConfigureAwait(false);
            }
            catch
            {
                await linked.CancelAsync().ConfigureAwait(false);

                // A worker blocked in a read that ignores cancellation (a hung network mount) must not keep the run, and
                // its save of finished work, waiting: give the workers a moment, then go on without them.
                try
                {
                    await completion.WaitAsync(_owner.WorkerGracePeriod, CancellationToken.None).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    _closed = true;
                    LogAbandonedWorkers(_owner._logger, workers.Count(w => !w.IsCompleted));
                }

                throw;
            }

            await completion.ConfigureAwait(false);
        }

        private async Task DecodeLoopAsync(List<Candidate> files, Func<int> take, ChannelWriter<Prepared> writer, CancellationToken token)
        {
            var preprocessor = (_owner._extractor as IPreprocessingFeatureExtractor)?.Preprocessor;
            for (var i = take(); i < files.Count; i = take())
            {
                token.ThrowIfCancellationRequested();
                var file = files[i];
                byte[] bytes;
                try
                {
                    bytes = await _owner.ReadFile(file.FullPath, file.FullPath, preprocessor?.DecoderOptions.MaxFileSize ?? ImageDecoderOptions.DefaultMaxFileSize, token).ConfigureAwait(false);
                }
                catch (ImageDecodeException ex)
                {
                    Record(new FileIndexResult(file.Id, file.FullPath, FileIndexOutcome.Failed, ex.Message));
                    continue;
                }
                catch (Exception ex) when (!(ex is OperationCanceledException && token.IsCancellationRequested))
                {
                    // Whatever goes wrong with one file is that file's outcome, never the run's.
                    Record(new FileIndexResult(file.Id, file.FullPath, FileIndexOutcome.Failed, "the file could not be read: " + ex.Message));
                    continue;
                }

                var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
                if (file.Existing is not null
                    && file.Existing.TryGetValue(RecordMetadata.Sha256, out var storedSha)
                    && string.Equals(storedSha, sha, StringComparison.Ordinal))
                {
                    // Same content, new file times (copied or touched): refresh the metadata, keep the vector.
                    await writer.WriteAsync(new Prepared(file, sha, null, null), token).ConfigureAwait(false);
                    continue;
                }

                var input = ImageInput.FromBytes(bytes, file.FullPath);
                if (preprocessor is null)
                {
                    await writer.WriteAsync(new Prepared(file, sha, null, input), token).ConfigureAwait(false);
                    continue;
                }

                PreprocessedImage image;
                try
                {
                    image = preprocessor.Preprocess(input);
                }
                catch (ImageDecodeException ex)
                {
                    RecordDecodeFailure(file, ex);
                    continue;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Record(new FileIndexResult(file.Id, file.FullPath, FileIndexOutcome.Failed, $"the image could not be decoded ({ex.GetType().Name}: {ex.Message})"));
                    continue;
                }

                await writer.WriteAsync(new Prepared(file, sha, image, null), token).ConfigureAwait(false);
            }
        }

        private async Task ConsumeAsync(ChannelReader<Prepared> reader, CancellationToken token)
        {
            // Whatever is ready goes to the extractor in one call, which cuts it into its own batches: while the
            // model runs, the workers fill the queue again.
            var batch = new List<Prepared>(MaxImagesPerCall);
            while (await reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (batch.Count < MaxImagesPerCall && reader.TryRead(out var item))
                {
                    if (item.IsUnchangedContent)
                    {
                        await RefreshAsync(item, token).ConfigureAwait(false);
                        continue;
                    }

                    batch.Add(item);
                }

                if (batch.Count > 0)
                {
                    await ExtractAsync(batch, token).ConfigureAwait(false);
                    batch.Clear();
                }
            }

            await reader.Completion.ConfigureAwait(false);
        }

        private async Task ExtractAsync(List<Prepared> batch, CancellationToken token)
        {
            IReadOnlyList<float[]>? vectors = null;
            ImageDecodeException? decodeError = null;
            _extraction.Start();
            try
            {
                vectors = batch[0].Image is not null
                    ? await FeatureExtraction.ExtractPreprocessedAsync((IPreprocessingFeatureExtractor)_owner._extractor, [.. batch.Select(b => b.Image!)], token).ConfigureAwait(false)
                    : await FeatureExtraction.ExtractAsync(_owner._extractor, [.. batch.Select(b => b.Encoded!)], token).ConfigureAwait(false);
            }
            catch (ImageDecodeException ex) when (batch[0].Encoded is not null)
            {
                decodeError = ex;
            }
            finally
            {
                _extraction.Stop();
            }

            if (vectors is null)
            {
                // An extractor that decodes by itself could not decode one of the images: find which, one at a time.
                if (batch.Count == 1)
                {
                    RecordDecodeFailure(batch[0].File, decodeError!);
                    return;
                }

                foreach (var item in batch)
                {
                    await ExtractAsync([item], token).ConfigureAwait(false);
                }

                return;
            }

            var now = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture);
            var records = new List<VectorRecord>(batch.Count);
            for (var i = 0; i < batch.Count; i++)
            {
                records.Add(new VectorRecord(batch[i].File.Id, vectors[i], Metadata(batch[i], now)));
            }

            await _owner._store.UpsertAsync(records, token).ConfigureAwait(false);
            foreach (var item in batch)
            {
                Record(new FileIndexResult(item.File.Id, item.File.FullPath, FileIndexOutcome.Indexed));
            }

            await CheckpointAsync(token).ConfigureAwait(false);
        }

        private void RecordDecodeFailure(Candidate file, ImageDecodeException ex)
        {
            var outcome = ex.Error == ImageDecodeError.UnknownFormat ? FileIndexOutcome.Skipped : FileIndexOutcome.Failed;
            Record(new FileIndexResult(file.Id, file.FullPath, outcome, ex.Message));
        }

        private async Task RefreshAsync(Prepared item, CancellationToken token)
        {
            var existing = await _owner._store.GetAsync(item.File.Id, token).ConfigureAwait(false);
            if (existing is null)
            {
                Record(new FileIndexResult(item.File.Id, item.File.FullPath, FileIndexOutcome.Failed, "the stored record disappeared during the run"));
                return;
            }

            var indexed = existing.Metadata.GetValueOrDefault(RecordMetadata.IndexedUtc) ?? DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture);
            await _owner._store.UpsertAsync([new VectorRecord(existing.Id, existing.Vector, Metadata(item, indexed))], token).ConfigureAwait(false);
            Record(new FileIndexResult(item.File.Id, item.File.FullPath, FileIndexOutcome.Unchanged));
        }

        private Dictionary<string, string> Metadata(Prepared item, string indexedUtc) => new(StringComparer.Ordinal)
        {
            [RecordMetadata.Path] = item.File.FullPath,
            [RecordMetadata.Root] = _root,
            [RecordMetadata.Size] = item.File.Size.ToString(CultureInfo.InvariantCulture),
            [RecordMetadata.LastWriteUtc] = item.File.LastWriteUtc.ToString("O", CultureInfo.InvariantCulture),
            [RecordMetadata.Sha256] = item.Sha256,
            [RecordMetadata.IndexedUtc] = indexedUtc,
        };

        private async Task CheckpointAsync(CancellationToken token)
        {
            if (_owner._store is IPersistentVectorStore && _clock.Elapsed - _lastCheckpoint >= _options.CheckpointInterval)
            {
                await SaveAsync(token).ConfigureAwait(false);
                int done;
                lock (_gate)
                {
                    done = _results.Count;
                }

                LogCheckpoint(_owner._logger, done);
            }
        }

        private async Task SaveAsync(CancellationToken token)
        {
            if (_owner._store is IPersistentVectorStore persistent)
            {
                await persistent.SaveChangesAsync(token).ConfigureAwait(false);
                _lastCheckpoint = _clock.Elapsed;
            }
        }

        private void Record(FileIndexResult result)
        {
            IndexingProgress snapshot;
            lock (_gate)
            {
                if (_closed)
                {
                    return; // a worker abandoned after cancellation finished late: the run has already returned
                }

                _results.Add(result);
                switch (result.Outcome)
                {
                    case FileIndexOutcome.Indexed: _indexed++; break;
                    case FileIndexOutcome.Unchanged: _unchanged++; break;
                    case FileIndexOutcome.Failed: _failed++; break;
                    case FileIndexOutcome.Skipped: _skipped++; break;
                }

                var rate = _indexed > 0 ? _indexed / _clock.Elapsed.TotalSeconds : 0;
                var done = _indexed + _unchanged + _failed + _skipped;
                snapshot = new IndexingProgress(done, _total, _indexed, _unchanged, _failed, _skipped, rate, result.Path);
            }

            if (result.Outcome is FileIndexOutcome.Failed or FileIndexOutcome.Skipped)
            {
                LogFileProblem(_owner._logger, result.Outcome, result.Path, result.Reason ?? string.Empty);
            }

            _progress?.Report(snapshot);
        }
    }
}
