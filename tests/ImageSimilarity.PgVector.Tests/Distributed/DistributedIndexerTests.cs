using System.Diagnostics;
using System.Reflection;
using ImageSimilarity.PgVector.TestSupport;
using ImageSimilarity.Storage;
using ImageSimilarity.TestSupport;
using Npgsql;

namespace ImageSimilarity.PgVector.Distributed;

[Collection(PostgresCollection.Name)]
public sealed class DistributedIndexerTests(PostgresFixture postgres)
{
    private static string SeedImages
    {
        get
        {
            var sample = TestPaths.SeedSample;
            Skip.If(sample is null && !TestPaths.IsCi, $"the seed sample is not at {TestPaths.Shared}/datasets/seed-sample (set IMAGESIMILARITY_SHARED)");
            return Path.Combine(sample ?? throw new InvalidOperationException($"CI=true but the seed sample is not at {TestPaths.Shared}"), "images");
        }
    }

    [SkippableFact]
    public async Task ThreeWorkerProcesses_OneKilledMidway_IndexEveryImageExactlyOnce()
    {
        var dataSource = postgres.Require();
        var table = PostgresFixture.NewTable("dist");
        var files = Directory.GetFiles(SeedImages).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(88, files.Length);
        using var extractor = new PoolingFeatureExtractor();
        await using var store = new PgVectorStore(dataSource, extractor.Dimension, extractor.ModelId, new PgVectorStoreOptions { TableName = table });
        var indexer = new DistributedIndexer(store, new DistributedIndexOptions { BatchSize = 4 });
        Assert.Equal(88, await indexer.EnqueueAsync(files));
        Assert.Equal(0, await indexer.EnqueueAsync(files.Take(10)));

        var workers = Enumerable.Range(0, 3).Select(i => StartWorker(table, leaseSeconds: 3, delayMs: 400, $"w{i}")).ToArray();
        try
        {
            // Kill worker 0 while it holds a batch, after the run has made some progress.
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while ((await indexer.GetStatusAsync()).Done < 4 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }

            var before = await indexer.GetStatusAsync();
            Assert.False(before.IsComplete, "the run finished before a worker could be killed; slow the workers down");
            workers[0].Process.Kill(); // SIGKILL on Unix: no chance to clean up or release its lease
            await workers[0].Process.WaitForExitAsync();

            foreach (var worker in workers.Skip(1))
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
                await worker.Process.WaitForExitAsync(timeout.Token);
                Assert.True(worker.Process.ExitCode == 0, $"worker exited with {worker.Process.ExitCode}: {worker.Output}");
            }
        }
        finally
        {
            foreach (var worker in workers.Where(w => !w.Process.HasExited))
            {
                worker.Process.Kill();
            }
        }

        var status = await indexer.GetStatusAsync();
        Assert.True(status.IsComplete);
        Assert.Equal(88, status.FilesDone);
        Assert.Equal(0, status.Failed);
        await using (var command = dataSource.CreateCommand($"SELECT count(*), count(DISTINCT id), count(DISTINCT metadata->>'sha256'), count(*) FILTER (WHERE metadata->>'path' = id) FROM {table}"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            await reader.ReadAsync();
            Assert.Equal((88L, 88L, 88L, 88L), (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3)));
        }

        // Only the killed worker's batch was claimed a second time.
        await using (var attempts = dataSource.CreateCommand($"SELECT count(*) FILTER (WHERE attempts > 1), max(attempts) FROM {table}_jobs"))
        await using (var reader = await attempts.ExecuteReaderAsync())
        {
            await reader.ReadAsync();
            Assert.True(reader.GetInt64(0) <= 1, $"{reader.GetInt64(0)} batches were claimed more than once");
        }

        // Every stored vector is the one a fresh extraction gives: no torn or misplaced rows.
        foreach (var file in files.Take(5))
        {
            var expected = (await extractor.ExtractAsync([Imaging.ImageInput.FromFile(file)]))[0];
            var hit = (await store.SearchAsync(expected, new VectorSearchOptions { Top = 1 }))[0];
            Assert.Equal(file, hit.Id);
            Assert.Equal(1.0, hit.Similarity, 1e-5);
        }
    }

    [SkippableFact]
    public async Task EnqueueFolder_HonoursIncludeAndExclude_AndRemovesRecordsOfFilesGoneOrExcluded_LikeTheEmbeddedIndexer()
    {
        var dataSource = postgres.Require();
        using var parent = new TempFolder();
        var images = Directory.GetFiles(SeedImages).Order(StringComparer.Ordinal).Take(8).ToArray();
        var folder = Path.Combine(parent.Path, "photos");

        // A sibling whose name starts with the folder's: its records must never count as "under the folder".
        var sibling = Path.Combine(parent.Path, "photos2");
        string Put(string root, string relative, int image)
        {
            var path = Path.Combine(root, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.Copy(images[image], path, overwrite: true);
            return path;
        }

        var a = Put(folder, "a.jpeg", 0);
        var b = Put(folder, "b.jpeg", 1);
        var c = Put(folder, "sub/c.jpeg", 2);
        Put(folder, "sub/skip/d.jpeg", 3);
        await File.WriteAllTextAsync(Path.Combine(folder, "notes.txt"), "not matched by the include glob");
        var other = Put(sibling, "a.jpeg", 4);

        using var extractor = new PoolingFeatureExtractor();
        await using var store = new PgVectorStore(dataSource, extractor.Dimension, extractor.ModelId, new PgVectorStoreOptions { TableName = PostgresFixture.NewTable("walk") });
        var indexer = new DistributedIndexer(store, new DistributedIndexOptions { BatchSize = 2, WorkerId = "solo" });
        var walk = new Indexing.FolderIndexOptions { Include = ["*.jpeg"], Exclude = ["sub/skip/**"] };

        var first = await indexer.EnqueueFolderAsync(folder, walk);
        Assert.Equal((3, 3, 0), (first.Files, first.Enqueued, first.Removed));
        Assert.Equal(1, (await indexer.EnqueueFolderAsync(sibling)).Enqueued);
        await indexer.WorkAsync(extractor);
        Assert.Equal(new[] { a, b, other, c }.Order(StringComparer.Ordinal), await IdsAsync(store));

        // b deleted from the folder, c now excluded: both records go; the sibling's record stays; a is not enqueued again.
        File.Delete(b);
        var narrower = new Indexing.FolderIndexOptions { Include = walk.Include, Exclude = ["sub/skip/**", "sub/c.jpeg"] };
        var second = await indexer.EnqueueFolderAsync(folder, narrower);
        Assert.Equal((1, 0, 2), (second.Files, second.Enqueued, second.Removed));
        Assert.Equal(new[] { a, other }.Order(StringComparer.Ordinal), await IdsAsync(store));

        // A deleted file that comes back (with other content) is enqueued and extracted again.
        Put(folder, "b.jpeg", 5);
        var third = await indexer.EnqueueFolderAsync(folder, narrower);
        Assert.Equal((2, 1, 0), (third.Files, third.Enqueued, third.Removed));
        Assert.Equal(1, (await indexer.WorkAsync(extractor)).Extracted);
        Assert.Equal(new[] { a, b, other }.Order(StringComparer.Ordinal), await IdsAsync(store));

        // Nothing changed: nothing enqueued. New content at the same path: enqueued and extracted again. Only a new
        // time: enqueued, not extracted (same content), and the refreshed time stops it being enqueued once more.
        Assert.Equal(0, (await indexer.EnqueueFolderAsync(folder, narrower)).Enqueued);
        File.Copy(images[6], a, overwrite: true);
        File.SetLastWriteTimeUtc(a, new DateTime(2030, 1, 2, 3, 4, 5, DateTimeKind.Utc));
        Assert.Equal(1, (await indexer.EnqueueFolderAsync(folder, narrower)).Enqueued);
        Assert.Equal((1, 0), Counts(await indexer.WorkAsync(extractor)));
        Assert.Equal(Sha256(images[6]), (await store.GetAsync(a))!.Metadata[RecordMetadata.Sha256]);
        File.SetLastWriteTimeUtc(b, new DateTime(2031, 1, 2, 3, 4, 5, DateTimeKind.Utc));
        Assert.Equal(1, (await indexer.EnqueueFolderAsync(folder, narrower)).Enqueued);
        Assert.Equal((0, 1), Counts(await indexer.WorkAsync(extractor)));
        Assert.Equal(0, (await indexer.EnqueueFolderAsync(folder, narrower)).Enqueued);

        // RemoveMissing = false keeps the records of deleted files, as in FolderIndexer.
        File.Delete(a);
        var keep = await indexer.EnqueueFolderAsync(folder, new Indexing.FolderIndexOptions { Include = walk.Include, Exclude = narrower.Exclude, RemoveMissing = false });
        Assert.Equal((1, 0, 0), (keep.Files, keep.Enqueued, keep.Removed));
        Assert.Equal(3, await store.CountAsync());
        await Assert.ThrowsAsync<DirectoryNotFoundException>(() => indexer.EnqueueFolderAsync(Path.Combine(parent.Path, "nowhere")));
    }

    private static (int Extracted, int Reused) Counts(DistributedWorkResult result) => (result.Extracted, result.Reused);

    private static string Sha256(string path) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)));

    private static async Task<string[]> IdsAsync(PgVectorStore store)
    {
        var ids = new List<string>();
        await foreach (var record in store.ListAsync())
        {
            ids.Add(record.Id);
        }

        return [.. ids.Order(StringComparer.Ordinal)];
    }

    [SkippableFact]
    public async Task Work_SkipsStoredContent_CopiesDuplicates_AndRecordsFailures()
    {
        var dataSource = postgres.Require();
        using var folder = new TempFolder();
        var images = Directory.GetFiles(SeedImages).Order(StringComparer.Ordinal).Take(6).ToArray();
        var listing = images.Select(f => { var to = Path.Combine(folder.Path, Path.GetFileName(f)); File.Copy(f, to); return to; }).ToList();
        var duplicate = Path.Combine(folder.Path, "copy-of-first.jpeg");
        File.Copy(images[0], duplicate);
        var notAnImage = Path.Combine(folder.Path, "notes.jpeg");
        await File.WriteAllTextAsync(notAnImage, "not an image");
        listing.Add(notAnImage);
        listing.Add(Path.Combine(folder.Path, "missing.jpeg"));

        using var extractor = new PoolingFeatureExtractor();
        await using var store = new PgVectorStore(dataSource, extractor.Dimension, extractor.ModelId, new PgVectorStoreOptions { TableName = PostgresFixture.NewTable("dist") });
        var indexer = new DistributedIndexer(store, new DistributedIndexOptions { BatchSize = 3, WorkerId = "solo" });
        Assert.Equal(8, await indexer.EnqueueAsync(listing));
        var first = await indexer.WorkAsync(extractor);
        Assert.Equal((6, 0, 2), (first.Extracted, first.Reused, first.Failed));

        // A later listing with a copy of an indexed file: stored without extraction.
        Assert.Equal(1, await indexer.EnqueueAsync([.. listing, duplicate]));
        var before = extractor.ImagesExtracted;
        var second = await indexer.WorkAsync(extractor);
        Assert.Equal((0, 1), (second.Extracted, second.Reused));
        Assert.Equal(before, extractor.ImagesExtracted);
        var copy = await store.GetAsync(duplicate);
        var original = await store.GetAsync(listing[0]);
        Assert.Equal(original!.Vector.ToArray(), copy!.Vector.ToArray());
        Assert.Equal(duplicate, copy.Metadata[RecordMetadata.Path]);

        var failures = await indexer.GetFailuresAsync();
        Assert.Equal(2, failures.Count);
        Assert.Contains(failures, f => f.Key.EndsWith("missing.jpeg", StringComparison.Ordinal) && f.Value.Contains("cannot read", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Key.EndsWith("notes.jpeg", StringComparison.Ordinal));
        Assert.Equal(7, await store.CountAsync());
        var status = await indexer.GetStatusAsync();
        Assert.Equal((9L, 9L, 2L, 6L, 1L), (status.Files, status.FilesDone, status.Failed, status.Extracted, status.Reused));
    }

    [SkippableFact]
    public async Task ServerStoppedMidRun_GivesAClearError_AndTheRunResumesWithNothingLost()
    {
        var dataSource = postgres.Require();
        var server = postgres.Server!;
        var files = Directory.GetFiles(SeedImages).Order(StringComparer.Ordinal).Take(40).ToArray();
        using var extractor = new PoolingFeatureExtractor { DelayPerBatch = TimeSpan.FromMilliseconds(150) };
        var table = PostgresFixture.NewTable("stop");
        await using var store = new PgVectorStore(dataSource, extractor.Dimension, extractor.ModelId, new PgVectorStoreOptions { TableName = table, CommandTimeout = TimeSpan.FromSeconds(5) });
        var indexer = new DistributedIndexer(store, new DistributedIndexOptions { BatchSize = 4, WorkerId = "stopper", LeaseDuration = TimeSpan.FromSeconds(30) });
        await indexer.EnqueueAsync(files);

        var run = indexer.WorkAsync(extractor);
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while ((await indexer.GetStatusAsync()).Done < 3 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        await server.StopAsync("immediate");
        PgVectorStoreException error;
        try
        {
            error = await Assert.ThrowsAsync<PgVectorStoreException>(() => run);
            Assert.Contains($"127.0.0.1:{server.Port}", error.Message, StringComparison.Ordinal);
            Assert.Contains(table, error.Message, StringComparison.Ordinal);

            // The store reports the outage the same way.
            var direct = await Assert.ThrowsAsync<PgVectorStoreException>(() => store.CountAsync());
            Assert.Contains("run again", direct.Message, StringComparison.Ordinal);
        }
        finally
        {
            await server.StartAgainAsync();
        }

        // Pooled connections died with the server; Npgsql drops them on first use.
        NpgsqlConnection.ClearAllPools();
        var resumed = await indexer.WorkAsync(extractor);
        Assert.True(resumed.Batches > 0);
        var status = await indexer.GetStatusAsync();
        Assert.True(status.IsComplete);
        Assert.Equal(40, await store.CountAsync());
        await using var command = dataSource.CreateCommand($"SELECT count(DISTINCT id) FROM {table}");
        Assert.Equal(40L, await command.ExecuteScalarAsync());
    }

    [SkippableFact]
    public async Task ConcurrentUpsertsWhileTheServerRestarts_LoseNothingThatWasAcknowledged()
    {
        var dataSource = postgres.Require();
        var server = postgres.Server!;
        await using var store = new PgVectorStore(dataSource, 16, "m", new PgVectorStoreOptions { TableName = PostgresFixture.NewTable("restart"), CommandTimeout = TimeSpan.FromSeconds(5) });
        await store.InitializeAsync();
        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<string>();
        var failures = 0;
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var id = $"{w}-{i}";
                var v = new float[16];
                v[w] = 1;
                v[3 + (i % 13)] = 1 + i;
                try
                {
                    await store.UpsertAsync([new VectorRecord(id, v)]);
                    acknowledged.Add(id);
                }
                catch (PgVectorStoreException)
                {
                    Interlocked.Increment(ref failures);
                    await Task.Delay(50);
                }
            }
        })).ToArray();

        await Task.Delay(500);
        await server.StopAsync("immediate");
        await Task.Delay(500);
        await server.StartAgainAsync();
        await Task.Delay(1500);
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        Assert.True(failures > 0, "the writers never noticed the outage");
        foreach (var id in acknowledged)
        {
            Assert.NotNull(await store.GetAsync(id));
        }

        Assert.True(await store.CountAsync() >= acknowledged.Count);
    }

    private (Process Process, System.Text.StringBuilder Output) StartWorker(string table, int leaseSeconds, int delayMs, string id)
    {
        var dll = typeof(DistributedIndexerTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "Worker").Value!;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { dll, postgres.Server!.ConnectionString, table, leaseSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), delayMs.ToString(System.Globalization.CultureInfo.InvariantCulture), id })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, output);
    }

    private sealed class TempFolder : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "imgsim-dist-" + Guid.NewGuid().ToString("N")[..8]);

        public TempFolder() => Directory.CreateDirectory(Path);

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
