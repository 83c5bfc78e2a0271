using System.Diagnostics;
using System.Globalization;
using System.Text;
using ImageSimilarity.Storage;

namespace ImageSimilarity.Benchmarks;

/// <summary>
/// <c>--storage COUNT [single|half] [rounds] [open]</c> (open: only the open comparison): the SQLite index against today's single-file store (format 1) on the
/// same seeded data, in one process, with the measurements interleaved round by round so both sides see the same load:
/// upsert + commit of 1,000 records into a store of COUNT against the same into an empty store; the old store's
/// checkpoint save at COUNT; open (every vector loaded) against a plain read of the same vector bytes; search time of
/// the two stores on the same queries; bytes on disk against the raw vectors plus metadata. Stopwatch, medians of the
/// rounds (the machine is shared; BenchmarkDotNet at 100,000 x 4096 would take far longer).
/// </summary>
internal static class StorageComparison
{
    private const int Added = 1000;

    public static async Task<int> RunAsync(string[] args)
    {
        var count = int.Parse(args[1], CultureInfo.InvariantCulture);
        var precision = args.Length > 2 && args[2] == "half" ? VectorPrecision.Half : VectorPrecision.Single;
        var rounds = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 5;
        var only = args.Length > 4 ? args[4] : null;
        var dir = Path.Combine(Path.GetTempPath(), $"imgsim-storage-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            return await RunAsync(dir, count, precision, rounds, only).ConfigureAwait(false);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<int> RunAsync(string dir, int count, VectorPrecision precision, int rounds, string? only)
    {
        var name = precision == VectorPrecision.Half ? "half" : "fp32";
        Console.WriteLine($"storage: {count:N0} x {BenchmarkData.Dimension} {name}, {rounds} rounds, {Environment.ProcessorCount} cores");
        var oldPath = Path.Combine(dir, "old.isvs");
        var newPath = Path.Combine(dir, "new.db");
        var rawPath = Path.Combine(dir, "vectors.raw");
        var options = new EmbeddedVectorStoreOptions { Precision = precision };
        long rawVectorBytes;
        long metadataBytes = 0;
        long fileBytes;
        long oldFileBytes;
        await using (var memory = EmbeddedVectorStore.Create(BenchmarkData.Dimension, "benchmark-random", options))
        {
            var sw = Stopwatch.StartNew();
            await memory.UpsertAsync(BenchmarkData.Records(count, seed: 42)).ConfigureAwait(false);
            Console.WriteLine($"storage: filled in memory in {sw.Elapsed.TotalSeconds:F1} s");
            await foreach (var record in memory.ListAsync().ConfigureAwait(false))
            {
                metadataBytes += Encoding.UTF8.GetByteCount(record.Id) + Encoding.UTF8.GetByteCount(SqliteIndex.MetadataJson(record.Metadata));
            }

            sw.Restart();
            await memory.SaveAsync(newPath).ConfigureAwait(false);
            Console.WriteLine($"storage: SQLite copy written in {sw.Elapsed.TotalSeconds:F1} s");
            fileBytes = new FileInfo(newPath).Length;
            rawVectorBytes = WriteRaw(memory, rawPath);
            sw.Restart();
            await memory.SaveLegacyAsync(oldPath).ConfigureAwait(false);
            Console.WriteLine($"storage: old format written in {sw.Elapsed.TotalSeconds:F1} s");
            oldFileBytes = new FileInfo(oldPath).Length;
        }

        Collect();

        // Open against a plain read of the same vector bytes, interleaved. (Files are in the page cache: both sides
        // measure the CPU cost of getting the bytes into the blocks, not the disk.)
        var openNew = new List<double>();
        var openOld = new List<double>();
        var plain = new List<double>();
        var cpuNew = new List<double>();
        var cpuPlain = new List<double>();
        for (var r = 0; r < (only?.StartsWith("search", StringComparison.Ordinal) == true ? 0 : rounds); r++)
        {
            var cpu = CpuMs();
            plain.Add(Time(() => PlainRead(rawPath, rawVectorBytes, precision)));
            cpuPlain.Add(CpuMs() - cpu);
            Collect();
            cpu = CpuMs();
            openNew.Add(await TimeAsync(async () => { await using var s = await EmbeddedVectorStore.OpenAsync(newPath).ConfigureAwait(false); }).ConfigureAwait(false));
            cpuNew.Add(CpuMs() - cpu);
            Collect();
            openOld.Add(await TimeAsync(async () => { await using var s = await EmbeddedVectorStore.OpenAsync(oldPath).ConfigureAwait(false); }).ConfigureAwait(false));
            Collect();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"storage:   round {r}: plain read {plain[^1]:F0} ms (cpu {cpuPlain[^1]:F0}), open SQLite {openNew[^1]:F0} ms (cpu {cpuNew[^1]:F0}) ({openNew[^1] / plain[^1]:F2}x), open old {openOld[^1]:F0} ms"));
        }

        if (only == "open")
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"storage: {name} open SQLite: {Median(openNew):F0}  plain read of the vector bytes: {Median(plain):F0}  ratio {Median(openNew) / Median(plain):F2}x (per-round median {Median(openNew.Zip(plain, (a, b) => a / b).ToList()):F2}x)  open old format: {Median(openOld):F0}; process CPU time: open {Median(cpuNew):F0}, plain read {Median(cpuPlain):F0}, ratio {Median(cpuNew) / Median(cpuPlain):F2}x"));
            return 0;
        }

        // Search: the same queries on the SQLite-bound store and on the old-format store, interleaved.
        var searchNew = new List<double>();
        var searchOld = new List<double>();
        var cpuSearchNew = new List<double>();
        var cpuSearchOld = new List<double>();
        var queries = BenchmarkData.Queries(4, seed: 7);
        // Open order alternates with the run ("search-old-first"), to see whether which store got its memory first matters.
        var oldFirst = only == "search-old-first";
        var preOpened = oldFirst ? await EmbeddedVectorStore.OpenAsync(oldPath).ConfigureAwait(false) : null;
        await using (var bound = await EmbeddedVectorStore.OpenAsync(newPath).ConfigureAwait(false))
        await using (var plainStore = preOpened ?? await EmbeddedVectorStore.OpenAsync(oldPath).ConfigureAwait(false))
        {
            foreach (var q in queries)
            {
                var a = await bound.SearchAsync(q).ConfigureAwait(false);
                var b = await plainStore.SearchAsync(q).ConfigureAwait(false);
                if (!a.Select(h => h.Id).Take(5).SequenceEqual(b.Select(h => h.Id).Take(5)))
                {
                    Console.WriteLine("storage: FAILED: the two stores answer differently");
                    return 1;
                }
            }

            // A-B then B-A, so neither store always runs first in a round.
            for (var r = 0; r < rounds * 3; r++)
            {
                var first = r % 2 == 0 ? bound : plainStore;
                var second = r % 2 == 0 ? plainStore : bound;
                var cpu0 = CpuMs();
                var a = await TimeAsync(async () => { foreach (var q in queries) { await first.SearchAsync(q).ConfigureAwait(false); } }).ConfigureAwait(false) / queries.Length;
                var cpu1 = CpuMs();
                var b = await TimeAsync(async () => { foreach (var q in queries) { await second.SearchAsync(q).ConfigureAwait(false); } }).ConfigureAwait(false) / queries.Length;
                var cpu2 = CpuMs();
                searchNew.Add(r % 2 == 0 ? a : b);
                searchOld.Add(r % 2 == 0 ? b : a);
                cpuSearchNew.Add((r % 2 == 0 ? cpu1 - cpu0 : cpu2 - cpu1) / queries.Length);
                cpuSearchOld.Add((r % 2 == 0 ? cpu2 - cpu1 : cpu1 - cpu0) / queries.Length);
            }
        }


        Collect();
        if (only?.StartsWith("search", StringComparison.Ordinal) == true)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"storage: {name} search per query, SQLite-bound: {Median(searchNew):F1}  old store: {Median(searchOld):F1}  per-round median ratio {Median(searchNew.Zip(searchOld, (a, b) => a / b).ToList()):F3}x; process CPU per query {Median(cpuSearchNew):F1} vs {Median(cpuSearchOld):F1}, per-round median ratio {Median(cpuSearchNew.Zip(cpuSearchOld, (a, b) => a / b).ToList()):F3}x"));
            return 0;
        }

        // Upsert + commit of 1,000 into the full store against the same into an empty store, interleaved; the old
        // store's equivalent is the upsert plus a checkpoint save of the whole file.
        var emptyPath = Path.Combine(dir, "empty.db");
        var intoFull = new List<double>();
        var intoEmpty = new List<double>();
        var oldCheckpoint = new List<double>();
        await using (var full = await EmbeddedVectorStore.OpenAsync(newPath).ConfigureAwait(false))
        {
            for (var r = 0; r < rounds; r++)
            {
                var batch = Batch(r, count);
                intoFull.Add(await TimeAsync(() => full.UpsertAsync(batch)).ConfigureAwait(false));
                File.Delete(emptyPath);
                await using (var empty = await EmbeddedVectorStore.OpenOrCreateAsync(emptyPath, BenchmarkData.Dimension, "benchmark-random", options).ConfigureAwait(false))
                {
                    intoEmpty.Add(await TimeAsync(() => empty.UpsertAsync(batch)).ConfigureAwait(false));
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"storage:   round {r}: upsert+commit 1,000 into {count:N0}: {intoFull[^1]:F0} ms, into empty: {intoEmpty[^1]:F0} ms ({intoFull[^1] / intoEmpty[^1]:F2}x)"));
            }

            await full.SaveChangesAsync().ConfigureAwait(false);
        }

        await using (var old = await EmbeddedVectorStore.OpenAsync(oldPath).ConfigureAwait(false))
        {
            for (var r = 0; r < Math.Min(rounds, 3); r++)
            {
                var batch = Batch(100 + r, count);
                oldCheckpoint.Add(await TimeAsync(async () =>
                {
                    await old.UpsertAsync(batch).ConfigureAwait(false);
                    await old.SaveLegacyAsync(oldPath).ConfigureAwait(false);
                }).ConfigureAwait(false));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"storage:   round {r}: old store: upsert 1,000 + checkpoint save: {oldCheckpoint[^1]:F0} ms"));
            }
        }

        Collect();

        var ratios = searchNew.Zip(searchOld, (a, b) => a / b).ToList();
        var payload = rawVectorBytes + metadataBytes;
        Console.WriteLine("storage: results (median of rounds, ms)");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"storage: {name} upsert+commit 1,000 into {count:N0}: {Median(intoFull):F0}  into empty: {Median(intoEmpty):F0}  ratio {Median(intoFull) / Median(intoEmpty):F2}x (per-round median {Median(intoFull.Zip(intoEmpty, (a, b) => a / b).ToList()):F2}x)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"storage: {name} old store upsert 1,000 + checkpoint save at {count:N0}: {Median(oldCheckpoint):F0}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"storage: {name} open SQLite: {Median(openNew):F0}  plain read of the vector bytes: {Median(plain):F0}  ratio {Median(openNew) / Median(plain):F2}x (per-round median {Median(openNew.Zip(plain, (a, b) => a / b).ToList()):F2}x)  open old format: {Median(openOld):F0}; process CPU time: open {Median(cpuNew):F0}, plain read {Median(cpuPlain):F0}, ratio {Median(cpuNew) / Median(cpuPlain):F2}x"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"storage: {name} search per query, SQLite-bound: {Median(searchNew):F1}  old store: {Median(searchOld):F1}  per-round median ratio {Median(ratios):F3}x; process CPU per query {Median(cpuSearchNew):F1} vs {Median(cpuSearchOld):F1}, per-round median ratio {Median(cpuSearchNew.Zip(cpuSearchOld, (a, b) => a / b).ToList()):F3}x"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"storage: {name} bytes on disk {fileBytes:N0}; raw vectors {rawVectorBytes:N0} + ids/metadata {metadataBytes:N0} = {payload:N0}; ratio {(double)fileBytes / payload:F4}x; old format {oldFileBytes:N0} ({(double)oldFileBytes / payload:F4}x)"));
        return 0;
    }

    private static List<VectorRecord> Batch(int round, int count)
        => BenchmarkData.Records(Added, seed: 1000 + round).Select((r, i) => new VectorRecord($"added/{round}/{i}", r.Vector, r.Metadata)).ToList();

    /// <summary>Writes the store's vectors as one plain file (the bytes an open has to read), returning its length.</summary>
    private static long WriteRaw(EmbeddedVectorStore store, string path)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var blocks = store.Blocks;
        var remaining = store.Count;
        for (var b = 0; remaining > 0; b++)
        {
            var rows = (int)Math.Min(blocks.RowsPerBlock, remaining);
            stream.Write(blocks.RowBytes(b, 0, rows));
            remaining -= rows;
        }

        stream.Flush(flushToDisk: true);
        return stream.Length;
    }

    /// <summary>Reads the raw vector file into blocks of the store's layout: the least any open must do.</summary>
    private static void PlainRead(string path, long length, VectorPrecision precision)
    {
        var blocks = new VectorBlocks(BenchmarkData.Dimension, precision);
        var rowBytes = BenchmarkData.Dimension * (precision == VectorPrecision.Half ? 2 : 4);
        var count = length / rowBytes;
        blocks.EnsureCapacity(count);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        long offset = 0;
        for (var b = 0; offset < length; b++)
        {
            var rows = (int)Math.Min(blocks.RowsPerBlock, count - (offset / rowBytes));
            var target = blocks.RowBytes(b, 0, rows);
            while (target.Length > 0)
            {
                var n = RandomAccess.Read(handle, target, offset);
                target = target[n..];
                offset += n;
            }
        }
    }

    private static double CpuMs() => Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds;

    private static double Time(Action action)
    {
        var sw = Stopwatch.StartNew();
        action();
        return sw.Elapsed.TotalMilliseconds;
    }

    private static async Task<double> TimeAsync(Func<Task> action)
    {
        var sw = Stopwatch.StartNew();
        await action().ConfigureAwait(false);
        return sw.Elapsed.TotalMilliseconds;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}
