using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ImageSimilarity.Indexing;
using ImageSimilarity.PgVector;
using ImageSimilarity.PgVector.Distributed;

namespace SearchByImage.Postgres;

/// <summary>
/// <c>index --store postgres</c>: enqueue a folder (or a listing file of paths) in the job table and/or work through it;
/// any number of processes on any number of machines can run <c>index --store postgres --join</c> at once.
/// </summary>
internal sealed class PostgresIndex
{
    public Option<bool> EnqueueOnly { get; } = new("--enqueue-only") { Description = "postgres: only add the folder's files to the job table; workers started with --join extract them." };

    public Option<bool> Join { get; } = new("--join") { Description = "postgres: only work through the job table (no folder needed), together with any other workers." };

    public Option<bool> Status { get; } = new("--status") { Description = "postgres: print the progress every worker sees, then exit." };

    public Option<int> LeaseSeconds { get; } = new("--lease-seconds") { Description = "postgres: how long a claimed batch stays claimed without renewal (a dead worker's batch is retaken after it).", DefaultValueFactory = _ => 300 };

    public Option<int> FilesPerBatch { get; } = new("--files-per-batch") { Description = "postgres: files per job batch when enqueueing.", DefaultValueFactory = _ => 16 };

    public void AddTo(Command command)
    {
        command.Options.Add(EnqueueOnly);
        command.Options.Add(Join);
        command.Options.Add(Status);
        command.Options.Add(LeaseSeconds);
        command.Options.Add(FilesPerBatch);
    }

    /// <summary>True when the folder argument may be left out (status or join only).</summary>
    public bool FolderOptional(ParseResult parseResult) => parseResult.GetValue(Status) || parseResult.GetValue(Join);

    public Task<int> RunAsync(ParseResult parseResult, PostgresStoreOptions stores, ModelOptions model, ModelSelection selection, string? folder, FolderIndexOptions walk, bool json, CancellationToken cancellationToken)
        => PostgresStoreOptions.RunAsync(async () =>
        {
            await using var dataSource = stores.OpenDataSource(parseResult);
            var storeOptions = stores.StoreOptions(parseResult);
            var info = await PgVectorStore.ReadInfoAsync(dataSource, storeOptions.TableName, cancellationToken).ConfigureAwait(false);
            var distributedOptions = new DistributedIndexOptions
            {
                LeaseDuration = TimeSpan.FromSeconds(Math.Max(1, parseResult.GetValue(LeaseSeconds))),
                BatchSize = Math.Max(1, parseResult.GetValue(FilesPerBatch)),
            };

            if (parseResult.GetValue(Status))
            {
                if (info is null)
                {
                    throw new ArgumentException($"there is no table '{storeOptions.TableName}' yet: index into it first");
                }

                await using var existing = await PgVectorStore.OpenExistingAsync(dataSource, storeOptions, cancellationToken).ConfigureAwait(false);
                WriteStatus(await new DistributedIndexer(existing, distributedOptions).GetStatusAsync(cancellationToken).ConfigureAwait(false), json);
                return 0;
            }

            var properties = info?.Properties ?? new Dictionary<string, string>();
            var extractorOptions = model.Read(parseResult, properties.GetValueOrDefault(IndexProperties.WeightsPath), properties.GetValueOrDefault(IndexProperties.Preset), properties.GetValueOrDefault(IndexProperties.Precision));
            var loaded = await selection.LoadAsync(selection.Resolve(parseResult, storeOptions.TableName, info?.Properties), parseResult, model, extractorOptions, info?.Properties, json ? null : new DownloadProgress(), cancellationToken).ConfigureAwait(false);
            using var extractor = loaded.Extractor;
            await using var store = new PgVectorStore(dataSource, extractor.Dimension, extractor.ModelId, info is null ? storeOptions : new PgVectorStoreOptions { TableName = storeOptions.TableName, Precision = info.Precision });
            await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
            var recorded = new Dictionary<string, string>();
            if (loaded.Preset is { } preset)
            {
                recorded[IndexProperties.Preset] = preset;
            }

            loaded.Record(recorded);
            await store.SetPropertiesAsync(recorded, cancellationToken).ConfigureAwait(false);
            var indexer = new DistributedIndexer(store, distributedOptions);

            var added = 0;
            var removed = 0;
            if (folder is not null && Directory.Exists(folder))
            {
                // The same walk as the embedded index (include/exclude globs, links, hidden files), and the records of
                // files that are gone or no longer included are removed, as there.
                var enqueued = await indexer.EnqueueFolderAsync(folder, walk, cancellationToken).ConfigureAwait(false);
                (added, removed) = (enqueued.Enqueued, enqueued.Removed);
                if (!json)
                {
                    Console.WriteLine($"{Path.GetFullPath(folder)}: {enqueued.Files} files, {added} new enqueued into {storeOptions.TableName}, {removed} records of files gone or excluded removed");
                    foreach (var leftOut in enqueued.LeftOut)
                    {
                        Console.WriteLine($"{leftOut.Outcome.ToString().ToLowerInvariant()} {leftOut.Path}: {leftOut.Reason}");
                    }
                }
            }
            else if (folder is not null)
            {
                if (walk.Include.Count > 0 || walk.Exclude.Count > 0)
                {
                    throw new ArgumentException($"--include and --exclude apply to a folder; '{folder}' is a listing file (list only the files to index in it)");
                }

                added = await indexer.EnqueueAsync(Listing(folder), cancellationToken).ConfigureAwait(false);
                if (!json)
                {
                    Console.WriteLine($"enqueued {added} new files from {Path.GetFullPath(folder)} into {storeOptions.TableName}");
                }
            }

            DistributedWorkResult? result = null;
            if (!parseResult.GetValue(EnqueueOnly))
            {
                var progress = json ? null : new Progress<DistributedIndexStatus>(s => Console.Error.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{s.FilesDone}/{s.Files} files, {s.Workers} workers, {s.ImagesPerSecond:F1} img/s, {s.Failed} failed")));
                result = await indexer.WorkAsync(extractor, progress, cancellationToken).ConfigureAwait(false);
            }

            var status = await indexer.GetStatusAsync(cancellationToken).ConfigureAwait(false);
            if (json)
            {
                JsonOutput.Write(writer =>
                {
                    writer.WriteStartObject();
                    writer.WriteString("table", storeOptions.TableName);
                    writer.WriteString("model", extractor.ModelId);
                    writer.WriteNumber("enqueued", added);
                    writer.WriteNumber("removed", removed);
                    if (result is not null)
                    {
                        writer.WriteNumber("batches", result.Batches);
                        writer.WriteNumber("extracted", result.Extracted);
                        writer.WriteNumber("reused", result.Reused);
                        writer.WriteNumber("failed", result.Failed);
                        writer.WriteNumber("seconds", Math.Round(result.Elapsed.TotalSeconds, 3));
                    }

                    WriteStatusFields(writer, status);
                    writer.WriteEndObject();
                });
            }
            else
            {
                if (result is not null)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"this worker: {result.Batches} batches, {result.Extracted} extracted, {result.Reused} already stored, {result.Failed} failed in {result.Elapsed.TotalSeconds:F1} s"));
                }

                WriteStatus(status, json: false);
                foreach (var (path, reason) in await indexer.GetFailuresAsync(cancellationToken).ConfigureAwait(false))
                {
                    Console.WriteLine($"failed {path}: {reason}");
                }
            }

            return 0;
        });

    private static IEnumerable<string> Listing(string listing)
    {
        if (!File.Exists(listing))
        {
            throw new DirectoryNotFoundException($"'{listing}' is neither a folder nor a listing file");
        }

        // A listing file: one path (or file:// URI) per line, as every worker machine can read it.
        return File.ReadLines(listing).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'));
    }

    private static void WriteStatus(DistributedIndexStatus s, bool json)
    {
        if (json)
        {
            JsonOutput.Write(writer =>
            {
                writer.WriteStartObject();
                WriteStatusFields(writer, s);
                writer.WriteEndObject();
            });
            return;
        }

        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"files {s.FilesDone}/{s.Files} done; batches: {s.Pending} pending, {s.Leased} in progress, {s.Expired} with expired lease, {s.Done}/{s.Batches} done; {s.Extracted} extracted, {s.Reused} already stored, {s.Failed} failed; {s.Workers} workers active, {s.ImagesPerSecond:F1} img/s over the last minute{(s.IsComplete ? "; complete" : string.Empty)}"));
    }

    private static void WriteStatusFields(Utf8JsonWriter writer, DistributedIndexStatus s)
    {
        writer.WriteNumber("files", s.Files);
        writer.WriteNumber("filesDone", s.FilesDone);
        writer.WriteNumber("batchesPending", s.Pending);
        writer.WriteNumber("batchesLeased", s.Leased);
        writer.WriteNumber("batchesExpired", s.Expired);
        writer.WriteNumber("batchesDone", s.Done);
        writer.WriteNumber("batches", s.Batches);
        writer.WriteNumber("extractedTotal", s.Extracted);
        writer.WriteNumber("reusedTotal", s.Reused);
        writer.WriteNumber("failedTotal", s.Failed);
        writer.WriteNumber("workers", s.Workers);
        writer.WriteNumber("imagesPerSecond", Math.Round(s.ImagesPerSecond, 3));
        writer.WriteBoolean("complete", s.IsComplete);
    }
}
