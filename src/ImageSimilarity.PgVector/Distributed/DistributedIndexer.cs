using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;
using ImageSimilarity.Indexing;
using ImageSimilarity.Storage;
using NpgsqlTypes;

namespace ImageSimilarity.PgVector.Distributed;

/// <summary>
/// Feature extraction spread over any number of processes on any number of machines, coordinated by PostgreSQL alone:
/// a listing of files is split into batches in a job table; each worker claims one batch at a time
/// (<c>FOR UPDATE SKIP LOCKED</c>) under a lease it renews while it works, extracts, upserts into the
/// <see cref="PgVectorStore"/> and marks the batch done. A worker that dies leaves its batch to be taken again when the
/// lease expires; the upserts are idempotent and keyed by content hash, so nothing is stored twice and an image is
/// extracted again only when its batch's worker died before finishing.
/// </summary>
/// <remarks>
/// Tables: <c>&lt;table&gt;_jobs</c> (one row per batch: paths, state, lease, counts, errors) and
/// <c>&lt;table&gt;_job_files</c> (every enqueued path once, so enqueueing the same listing again adds only new files).
/// Every process sees the same progress through <see cref="GetStatusAsync"/>. Thread-safety: safe to use from several
/// threads; run one <see cref="WorkAsync"/> per worker.
/// </remarks>
public sealed class DistributedIndexer
{
    private readonly PgVectorStore _store;
    private readonly DistributedIndexOptions _options;
    private readonly string _jobs;
    private readonly string _files;
    private int _tablesReady;

    /// <summary>Initializes a new instance of the <see cref="DistributedIndexer"/> class.</summary>
    /// <param name="store">The store the features go to; its table name also names the job tables.</param>
    /// <param name="options">Batch size, lease, worker id; <see langword="null"/> for <see cref="DistributedIndexOptions.Default"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="store"/> is <see langword="null"/>.</exception>
    public DistributedIndexer(PgVectorStore store, DistributedIndexOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _options = options ?? DistributedIndexOptions.Default;
        _jobs = PgVectorStore.Quote(store.TableName + "_jobs");
        _files = PgVectorStore.Quote(store.TableName + "_job_files");
    }

    /// <summary>Adds the files of a listing that are not enqueued yet, in batches of <see cref="DistributedIndexOptions.BatchSize"/>.</summary>
    /// <param name="paths">Paths (or <c>file://</c> URIs) every worker can read.</param>
    /// <param name="cancellationToken">Cancels the operation; nothing is enqueued then.</param>
    /// <returns>How many files were new.</returns>
    /// <exception cref="PgVectorStoreException">The server is not reachable.</exception>
    public async Task<int> EnqueueAsync(IEnumerable<string> paths, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var unique = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            ArgumentException.ThrowIfNullOrEmpty(path, nameof(paths));
            if (seen.Add(path))
            {
                unique.Add(path);
            }
        }

        return (await EnqueueCoreAsync(unique.Select(p => new ListedFile(p, null, null)).ToList(), removeUnder: null, cancellationToken).ConfigureAwait(false)).Added;
    }

    /// <summary>
    /// Enqueues the files of a folder as <see cref="FolderIndexer"/> finds them (<see cref="FolderIndexOptions.Recursive"/>,
    /// <see cref="FolderIndexOptions.Include"/> and <see cref="FolderIndexOptions.Exclude"/> globs on the path relative to
    /// the folder, links, hidden files), and, with <see cref="FolderIndexOptions.RemoveMissing"/> (the default), deletes
    /// the records of files under the folder that are gone or no longer included, in the same transaction.
    /// </summary>
    /// <param name="folder">The folder; its absolute path is what the workers read, so it must be the same on every worker machine.</param>
    /// <param name="options">Walking options (the batching options of <see cref="FolderIndexOptions"/> are not used); <see langword="null"/> for <see cref="FolderIndexOptions.Default"/>.</param>
    /// <param name="cancellationToken">Cancels the operation; nothing is enqueued or removed then.</param>
    /// <returns>Files found, files newly enqueued, records removed, entries left out with the reason.</returns>
    /// <remarks>
    /// A record belongs to the folder when its <see cref="RecordMetadata.Path"/> lies under it (what the workers store).
    /// A removed file is also forgotten by the job table, so if it comes back it is enqueued again.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="folder"/> is empty.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="PgVectorStoreException">The server is not reachable.</exception>
    public async Task<DistributedEnqueueResult> EnqueueFolderAsync(string folder, FolderIndexOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        options ??= FolderIndexOptions.Default;
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"The folder '{root}' does not exist. Check the path and try again.");
        }

        var (files, leftOut) = new FolderWalker(root, options).Walk(cancellationToken);
        var listed = new List<ListedFile>(files.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            if (!seen.Add(file.Path))
            {
                continue;
            }

            try
            {
                // The real file's size and time, not the link's own (as FolderIndexer and the workers take them).
                var info = new FileInfo(file.RealPath);
                listed.Add(new ListedFile(file.Path, info.Length, info.LastWriteTimeUtc.ToString("O", CultureInfo.InvariantCulture)));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                leftOut.Add(new FileIndexResult(file.Id, file.Path, FileIndexOutcome.Failed, "the file could not be read: " + ex.Message));
            }
        }

        var prefix = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        var (added, removed) = await EnqueueCoreAsync(listed, options.RemoveMissing ? prefix : null, cancellationToken).ConfigureAwait(false);
        return new DistributedEnqueueResult(listed.Count, added, removed, leftOut);
    }

    /// <summary>A listed path; size and time (of a folder walk) let a later enqueue tell a changed file from an indexed one.</summary>
    private sealed record ListedFile(string Path, long? Size, string? LastWriteUtc);

    private async Task<(int Added, int Removed)> EnqueueCoreAsync(List<ListedFile> unique, string? removeUnder, CancellationToken cancellationToken)
    {
        await EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        return await _store.RunAsync(
            async connection =>
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using (var setup = _store.Command(connection, $"SELECT pg_advisory_xact_lock(hashtext({Literal(_jobs)})); CREATE TEMP TABLE imsim_listing (ord integer, path text PRIMARY KEY, size bigint, mtime text) ON COMMIT DROP", transaction))
                {
                    await setup.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                var importer = await connection.BeginBinaryImportAsync("COPY imsim_listing (ord, path, size, mtime) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
                await using (importer.ConfigureAwait(false))
                {
                    for (var i = 0; i < unique.Count; i++)
                    {
                        await importer.StartRowAsync(cancellationToken).ConfigureAwait(false);
                        await importer.WriteAsync(i, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                        await importer.WriteAsync(unique[i].Path, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                        await importer.WriteAsync<object>(unique[i].Size is { } size ? size : DBNull.Value, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                        await importer.WriteAsync<object>(unique[i].LastWriteUtc is { } time ? time : DBNull.Value, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                    }

                    await importer.CompleteAsync(cancellationToken).ConfigureAwait(false);
                }

                var removed = 0;
                if (removeUnder is not null)
                {
                    // Records of files under the folder that the walk no longer lists, and the job table's memory of
                    // those files (finished batches only: a batch in progress reports a vanished file as failed). Files
                    // listed again whose record is missing (they failed) or has another size or time (they changed) are
                    // forgotten too, so the insert below enqueues them again, as FolderIndexer retries and re-extracts.
                    await using var remove = _store.Command(
                        connection,
                        $"""
                        ANALYZE imsim_listing;
                        WITH gone AS (
                            DELETE FROM {_store.Table} t
                            WHERE starts_with(t.metadata->>'path', @prefix)
                              AND NOT EXISTS (SELECT 1 FROM imsim_listing l WHERE l.path = t.metadata->>'path')
                            RETURNING t.id),
                        forgotten AS (
                            DELETE FROM {_files} f
                            WHERE starts_with(f.path, @prefix)
                              AND NOT EXISTS (SELECT 1 FROM imsim_listing l WHERE l.path = f.path)
                              AND EXISTS (SELECT 1 FROM {_jobs} j WHERE j.batch_id = f.batch_id AND j.state = 'done')),
                        changed AS (
                            DELETE FROM {_files} f
                            USING imsim_listing l
                            WHERE f.path = l.path
                              AND EXISTS (SELECT 1 FROM {_jobs} j WHERE j.batch_id = f.batch_id AND j.state = 'done')
                              AND NOT EXISTS (
                                  SELECT 1 FROM {_store.Table} t
                                  WHERE t.metadata->>'path' = l.path
                                    AND t.metadata->>'size' = l.size::text
                                    AND t.metadata->>'mtime' = l.mtime))
                        SELECT count(*) FROM gone
                        """,
                        transaction);
                    remove.Parameters.AddWithValue("prefix", NpgsqlDbType.Text, removeUnder);
                    removed = (int)(long)(await remove.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                }

                await using var insert = _store.Command(
                    connection,
                    $"""
                    WITH fresh AS (
                        SELECT l.path, l.ord FROM imsim_listing l WHERE NOT EXISTS (SELECT 1 FROM {_files} f WHERE f.path = l.path)),
                    grouped AS (
                        SELECT array_agg(path ORDER BY ord) AS paths, min(ord) AS first
                        FROM (SELECT path, ord, (row_number() OVER (ORDER BY ord) - 1) / @size AS g FROM fresh) x
                        GROUP BY g),
                    batches AS (
                        INSERT INTO {_jobs} (paths) SELECT paths FROM grouped ORDER BY first RETURNING batch_id, paths)
                    INSERT INTO {_files} (path, batch_id) SELECT unnest(paths), batch_id FROM batches
                    """,
                    transaction);
                insert.Parameters.AddWithValue("size", NpgsqlDbType.Integer, _options.BatchSize);
                var added = await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return (added, removed);
            },
            "enqueue the listing",
            initialized: true,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Works through the job table until every batch is done: claims a batch, extracts the images not stored yet, upserts
    /// them and marks the batch done; when only other workers' batches remain, waits for them to finish or for their
    /// leases to expire (and then takes them).
    /// </summary>
    /// <param name="extractor">The extractor; its model must be the store's.</param>
    /// <param name="progress">Receives the shared status after each batch; may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops after the current step; the batch in hand is taken again when its lease expires (or at once by a worker with the same id).</param>
    /// <returns>What this worker did.</returns>
    /// <exception cref="ModelMismatchException">The extractor's model or dimension is not the store's.</exception>
    /// <exception cref="PgVectorStoreException">The server went away. Batches finished so far stay done; run again to resume.</exception>
    public async Task<DistributedWorkResult> WorkAsync(IFeatureExtractor extractor, IProgress<DistributedIndexStatus>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(extractor);
        ModelMismatchException.ThrowIfIncompatible(extractor, _store);
        await EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        int batches = 0, extracted = 0, reused = 0, failed = 0;
        var idle = TimeSpan.FromMilliseconds(Math.Clamp(_options.LeaseDuration.TotalMilliseconds / 4, 100, 1000));
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var claim = await ClaimAsync(cancellationToken).ConfigureAwait(false);
            if (claim is null)
            {
                var status = await GetStatusAsync(cancellationToken).ConfigureAwait(false);
                if (status.Pending == 0 && status.Leased == 0 && status.Expired == 0)
                {
                    break;
                }

                await Task.Delay(idle, cancellationToken).ConfigureAwait(false);
                continue;
            }

            using var renewal = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var renewing = RenewAsync(claim.Value.BatchId, renewal.Token);
            try
            {
                var outcome = await ProcessAsync(extractor, claim.Value.Paths, cancellationToken).ConfigureAwait(false);
                await renewal.CancelAsync().ConfigureAwait(false);
                await renewing.ConfigureAwait(false);
                await CompleteAsync(claim.Value.BatchId, outcome, cancellationToken).ConfigureAwait(false);
                batches++;
                extracted += outcome.Extracted;
                reused += outcome.Reused;
                failed += outcome.Errors.Count;
            }
            finally
            {
                await renewal.CancelAsync().ConfigureAwait(false);
                await renewing.ConfigureAwait(false);
            }

            if (progress is not null)
            {
                progress.Report(await GetStatusAsync(cancellationToken).ConfigureAwait(false));
            }
        }

        return new DistributedWorkResult(batches, extracted, reused, failed, clock.Elapsed);
    }

    /// <summary>Reads the shared progress from the job table.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The status.</returns>
    /// <exception cref="PgVectorStoreException">The server is not reachable.</exception>
    public async Task<DistributedIndexStatus> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        await EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        return await _store.RunAsync(
            async connection =>
            {
                await using var command = _store.Command(
                    connection,
                    $"""
                    SELECT coalesce(sum(cardinality(paths)), 0),
                           coalesce(sum(cardinality(paths)) FILTER (WHERE state = 'done'), 0),
                           count(*),
                           count(*) FILTER (WHERE state = 'pending'),
                           count(*) FILTER (WHERE state = 'leased' AND lease_until >= now()),
                           count(*) FILTER (WHERE state = 'leased' AND lease_until < now()),
                           count(*) FILTER (WHERE state = 'done'),
                           coalesce(sum(extracted), 0), coalesce(sum(reused), 0), coalesce(sum(failed), 0),
                           count(DISTINCT leased_by) FILTER (WHERE state = 'leased' AND lease_until >= now()),
                           coalesce(sum(cardinality(paths)) FILTER (WHERE done_at > now() - interval '1 minute'), 0),
                           coalesce(extract(epoch FROM now() - min(claimed_at) FILTER (WHERE done_at > now() - interval '1 minute')), 0)
                    FROM {_jobs}
                    """);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var recent = reader.GetInt64(11);
                var seconds = Math.Min(60, Convert.ToDouble(reader.GetValue(12), CultureInfo.InvariantCulture));
                return new DistributedIndexStatus(
                    reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6),
                    reader.GetInt64(7), reader.GetInt64(8), reader.GetInt64(9), (int)reader.GetInt64(10),
                    seconds > 0 ? recent / seconds : 0);
            },
            "read the job status",
            initialized: true,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads the files that failed, with the reason, from the finished batches.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>Path and reason of each failure.</returns>
    public async Task<IReadOnlyList<KeyValuePair<string, string>>> GetFailuresAsync(CancellationToken cancellationToken = default)
    {
        await EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        return await _store.RunAsync(
            async connection =>
            {
                await using var command = _store.Command(connection, $"SELECT e.key, e.value FROM {_jobs} j, jsonb_each_text(j.errors) e WHERE j.errors IS NOT NULL ORDER BY e.key");
                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                var failures = new List<KeyValuePair<string, string>>();
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    failures.Add(new(reader.GetString(0), reader.GetString(1)));
                }

                return (IReadOnlyList<KeyValuePair<string, string>>)failures;
            },
            "read the failures",
            initialized: true,
            cancellationToken).ConfigureAwait(false);
    }

    private static string Literal(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static string ReadablePath(string path)
        => Uri.TryCreate(path, UriKind.Absolute, out var uri) && uri.IsFile ? uri.LocalPath : path;

    /// <summary>The last write time of the real file (links resolved), as the folder enqueue and the record metadata write it.</summary>
    private static string LastWriteUtc(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target)
        {
            info = target;
        }

        return info.LastWriteTimeUtc.ToString("O", CultureInfo.InvariantCulture);
    }

    private async Task EnsureTablesAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _tablesReady) == 1)
        {
            return;
        }

        await _store.RunAsync(
            async connection =>
            {
                await using var command = _store.Command(
                    connection,
                    $"""
                    SELECT pg_advisory_lock(hashtext({Literal(_jobs)}));
                    CREATE TABLE IF NOT EXISTS {_jobs} (
                        batch_id    bigserial PRIMARY KEY,
                        paths       text[] NOT NULL,
                        state       text NOT NULL DEFAULT 'pending',
                        leased_by   text,
                        claimed_at  timestamptz,
                        lease_until timestamptz,
                        attempts    integer NOT NULL DEFAULT 0,
                        extracted   integer NOT NULL DEFAULT 0,
                        reused      integer NOT NULL DEFAULT 0,
                        failed      integer NOT NULL DEFAULT 0,
                        errors      jsonb,
                        done_at     timestamptz);
                    CREATE INDEX IF NOT EXISTS {PgVectorStore.Quote(_store.TableName + "_jobs_open")} ON {_jobs} (batch_id) WHERE state <> 'done';
                    CREATE TABLE IF NOT EXISTS {_files} (path text PRIMARY KEY, batch_id bigint NOT NULL);
                    SELECT pg_advisory_unlock(hashtext({Literal(_jobs)}));
                    """);
                return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            },
            "create the job tables",
            initialized: true,
            cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _tablesReady, 1);
    }

    private Task<(long BatchId, string[] Paths)?> ClaimAsync(CancellationToken cancellationToken)
        => _store.RunAsync(
            async connection =>
            {
                await using var command = _store.Command(
                    connection,
                    $"""
                    UPDATE {_jobs} SET state = 'leased', leased_by = @worker, claimed_at = now(), lease_until = now() + @lease, attempts = attempts + 1
                    WHERE batch_id = (
                        SELECT batch_id FROM {_jobs}
                        WHERE state = 'pending' OR (state = 'leased' AND (lease_until < now() OR leased_by = @worker))
                        ORDER BY batch_id
                        FOR UPDATE SKIP LOCKED
                        LIMIT 1)
                    RETURNING batch_id, paths
                    """);
                command.Parameters.AddWithValue("worker", NpgsqlDbType.Text, _options.WorkerId);
                command.Parameters.AddWithValue("lease", NpgsqlDbType.Interval, _options.LeaseDuration);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
                    ? ((long, string[])?)(reader.GetInt64(0), reader.GetFieldValue<string[]>(1))
                    : null;
            },
            "claim a batch",
            initialized: true,
            cancellationToken);

    private async Task RenewAsync(long batchId, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.LeaseDuration / 3);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await _store.RunAsync(
                        async connection =>
                        {
                            await using var command = _store.Command(connection, $"UPDATE {_jobs} SET lease_until = now() + @lease WHERE batch_id = @b AND leased_by = @worker AND state = 'leased'");
                            command.Parameters.AddWithValue("lease", NpgsqlDbType.Interval, _options.LeaseDuration);
                            command.Parameters.AddWithValue("b", NpgsqlDbType.Bigint, batchId);
                            command.Parameters.AddWithValue("worker", NpgsqlDbType.Text, _options.WorkerId);
                            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                        },
                        "renew a lease",
                        initialized: true,
                        cancellationToken).ConfigureAwait(false);
                }
                catch (PgVectorStoreException)
                {
                    // The batch's own writes will report the outage; a lost lease only means another worker may redo it.
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task<BatchOutcome> ProcessAsync(IFeatureExtractor extractor, string[] paths, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        var files = new List<(string Path, string Id, byte[] Bytes, string Hash, string LastWrite)>(paths.Length);
        foreach (var path in paths)
        {
            try
            {
                // The time first: a file rewritten while it is read then looks changed to the next folder enqueue.
                var lastWrite = LastWriteUtc(ReadablePath(path));
                var bytes = await File.ReadAllBytesAsync(ReadablePath(path), cancellationToken).ConfigureAwait(false);
                files.Add((path, _options.IdOf(path), bytes, Convert.ToHexStringLower(SHA256.HashData(bytes)), lastWrite));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                errors[path] = "cannot read: " + e.Message;
            }
        }

        // Idempotence by content: an image already stored is never extracted again. One stored under another id (a
        // copy of the file) is copied in the database; one stored under its own id is copied onto itself, which only
        // refreshes the file's size and time in the metadata (a touched file is then not enqueued again).
        var stored = await FindByHashAsync(files.Select(f => f.Hash).Distinct().ToArray(), cancellationToken).ConfigureAwait(false);
        var toExtract = new List<(string Path, string Id, byte[] Bytes, string Hash, string LastWrite)>();
        var copies = new List<(string Id, string Source, string Path, string Hash, long Size, string LastWrite)>();
        var reused = 0;
        foreach (var file in files)
        {
            if (stored.TryGetValue(file.Hash, out var ids))
            {
                reused++;
                copies.Add((file.Id, ids.Contains(file.Id) ? file.Id : ids[0], file.Path, file.Hash, file.Bytes.LongLength, file.LastWrite));
            }
            else
            {
                toExtract.Add(file);
            }
        }

        var records = new List<VectorRecord>(toExtract.Count);
        var vectors = await ExtractAsync(extractor, toExtract.Select(f => ImageInput.FromBytes(f.Bytes, f.Path)).ToList(), errors, cancellationToken).ConfigureAwait(false);
        var indexed = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture);
        for (var i = 0; i < toExtract.Count; i++)
        {
            if (vectors[i] is { } vector)
            {
                var f = toExtract[i];
                records.Add(new VectorRecord(f.Id, vector, new Dictionary<string, string>
                {
                    [RecordMetadata.Path] = f.Path,
                    [RecordMetadata.Sha256] = f.Hash,
                    [RecordMetadata.Size] = f.Bytes.LongLength.ToString(CultureInfo.InvariantCulture),
                    [RecordMetadata.LastWriteUtc] = f.LastWrite,
                    [RecordMetadata.IndexedUtc] = indexed,
                }));
            }
        }

        await _store.UpsertAsync(records, cancellationToken).ConfigureAwait(false);
        if (copies.Count > 0)
        {
            await CopyAsync(copies, indexed, cancellationToken).ConfigureAwait(false);
        }

        return new BatchOutcome(records.Count, reused, errors);
    }

    private static async Task<float[]?[]> ExtractAsync(IFeatureExtractor extractor, List<ImageInput> images, Dictionary<string, string> errors, CancellationToken cancellationToken)
    {
        var vectors = new float[]?[images.Count];
        if (images.Count == 0)
        {
            return vectors;
        }

        try
        {
            var all = await extractor.ExtractAsync(images, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < all.Count; i++)
            {
                vectors[i] = all[i];
            }

            return vectors;
        }
        catch (ImageDecodeException)
        {
            // One bad image fails the whole batch call: extract one by one to keep the good ones.
        }

        for (var i = 0; i < images.Count; i++)
        {
            try
            {
                vectors[i] = (await extractor.ExtractAsync([images[i]], cancellationToken).ConfigureAwait(false))[0];
            }
            catch (ImageDecodeException e)
            {
                errors[images[i].Name] = e.Message;
            }
        }

        return vectors;
    }

    private Task<Dictionary<string, List<string>>> FindByHashAsync(string[] hashes, CancellationToken cancellationToken)
        => _store.RunAsync(
            async connection =>
            {
                var found = new Dictionary<string, List<string>>(StringComparer.Ordinal);
                await using var command = _store.Command(connection, $"SELECT metadata->>'sha256', id FROM {_store.Table} WHERE metadata->>'sha256' = ANY(@h)");
                command.Parameters.AddWithValue("h", NpgsqlDbType.Array | NpgsqlDbType.Text, hashes);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var hash = reader.GetString(0);
                    if (!found.TryGetValue(hash, out var ids))
                    {
                        found[hash] = ids = [];
                    }

                    ids.Add(reader.GetString(1));
                }

                return found;
            },
            "look up content hashes",
            initialized: true,
            cancellationToken);

    private Task CopyAsync(List<(string Id, string Source, string Path, string Hash, long Size, string LastWrite)> copies, string indexed, CancellationToken cancellationToken)
        => _store.RunAsync(
            async connection =>
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                foreach (var copy in copies)
                {
                    await using var command = _store.Command(
                        connection,
                        $"""
                        INSERT INTO {_store.Table} (id, embedding, code, metadata, updated)
                        SELECT @id, embedding, code, @m::jsonb, now() FROM {_store.Table} WHERE id = @src
                        ON CONFLICT (id) DO UPDATE SET embedding = excluded.embedding, code = excluded.code, metadata = excluded.metadata, updated = excluded.updated
                        """,
                        transaction);
                    command.Parameters.AddWithValue("id", NpgsqlDbType.Text, copy.Id);
                    command.Parameters.AddWithValue("src", NpgsqlDbType.Text, copy.Source);
                    command.Parameters.AddWithValue("m", NpgsqlDbType.Text, VectorCodec.ToJson(new Dictionary<string, string>
                    {
                        [RecordMetadata.Path] = copy.Path,
                        [RecordMetadata.Sha256] = copy.Hash,
                        [RecordMetadata.Size] = copy.Size.ToString(CultureInfo.InvariantCulture),
                        [RecordMetadata.LastWriteUtc] = copy.LastWrite,
                        [RecordMetadata.IndexedUtc] = indexed,
                    }));
                    await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return 0;
            },
            "copy records with the same content",
            initialized: true,
            cancellationToken);

    private Task CompleteAsync(long batchId, BatchOutcome outcome, CancellationToken cancellationToken)
        => _store.RunAsync(
            async connection =>
            {
                await using var command = _store.Command(
                    connection,
                    $"""
                    UPDATE {_jobs} SET state = 'done', done_at = now(), lease_until = NULL,
                        extracted = extracted + @e, reused = reused + @r, failed = @f, errors = @errors::jsonb
                    WHERE batch_id = @b AND state = 'leased'
                    """);
                command.Parameters.AddWithValue("e", NpgsqlDbType.Integer, outcome.Extracted);
                command.Parameters.AddWithValue("r", NpgsqlDbType.Integer, outcome.Reused);
                command.Parameters.AddWithValue("f", NpgsqlDbType.Integer, outcome.Errors.Count);
                command.Parameters.AddWithValue("errors", NpgsqlDbType.Text, outcome.Errors.Count == 0 ? DBNull.Value : VectorCodec.ToJson(outcome.Errors));
                command.Parameters.AddWithValue("b", NpgsqlDbType.Bigint, batchId);
                return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            },
            "mark a batch done",
            initialized: true,
            cancellationToken);

    private sealed record BatchOutcome(int Extracted, int Reused, Dictionary<string, string> Errors);
}
