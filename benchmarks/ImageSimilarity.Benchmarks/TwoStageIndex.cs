using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Numerics.Tensors;
using System.Text.Json;
using ImageSimilarity.Storage;

namespace ImageSimilarity.Benchmarks;

/// <summary>
/// The two-stage search measured on a prebuilt index file at 100,000 and 1,000,000 rows (issue 17; see
/// docs/storage.md, "Which precision and search mode to choose"), against an exact fp32 reference computed outside
/// .NET (<c>benchmarks/peers/twostage_data.py</c>).
/// <para>
/// <c>--twostage-build BASE.f32 ROWS INDEX.db single|half|int8</c>: writes the first ROWS rows of BASE.f32 (raw
/// little-endian float32 4096-d rows) into a new index file, id = row number, no metadata, with the library's bulk
/// writer (the one <c>SaveAsync</c> uses), one row in memory at a time; the binary-code medians are computed first,
/// as <c>BuildBinaryCodesAsync</c> would, and kept in the file; one open with the vectors left in the file then
/// writes every row's code into it. Prints the time taken.
/// </para>
/// <para>
/// <c>--twostage-index INDEX.db QUERIES.f32 REFERENCE.i32 [memory|disk] [candidates,...] [exact-queries] [cold]</c>:
/// opens the index (timed; <c>disk</c> = <c>EmbeddedVectorStoreOptions.VectorsInMemory = false</c>), enables
/// two-stage search (<c>EnableTwoStageAsync(200)</c>, which builds the codes if the file has none), reports memory (vectors, codes, managed heap after a full GC, process RSS split into
/// anonymous and file-backed pages: SQLite maps up to 2 GB of the file, and those pages count as RssFile), then for
/// each candidate count (default 50,100,200,400,800,1600) recall@10 of the two-stage search against the reference
/// (queries x 10 int32 row numbers, best first), median and p95 single-query latency (all queries, counts interleaved
/// per query after one warm-up pass), batched latency per query (<c>SearchBatchAsync</c> of 32), and the exact
/// search of the same store (<c>VectorSearchOptions.Exact</c>; recall and median over the first <c>exact-queries</c> queries, default all). With
/// <c>cold</c> (root only; it drops the whole machine's page cache, so run it under the measurement lock) each
/// candidate count first gets one pass over the queries right after <c>echo 1 &gt; /proc/sys/vm/drop_caches</c>.
/// Human-readable lines and one JSON line per figure (<c>{"tool":"ours",...}</c>) go to standard output.
/// </para>
/// </summary>
internal static class TwoStageIndex
{
    private const int Dim = BenchmarkData.Dimension;

    public static async Task<int> BuildAsync(string[] args)
    {
        var basePath = args[1];
        var rows = int.Parse(args[2], CultureInfo.InvariantCulture);
        var indexPath = Path.GetFullPath(args[3]);
        var precision = Enum.Parse<VectorPrecision>(args.Length > 4 ? args[4] : "single", ignoreCase: true);
        if (File.Exists(indexPath))
        {
            Console.Error.WriteLine($"twostage-build: {indexPath} exists; delete it to build again.");
            return 2;
        }

        var available = new FileInfo(basePath).Length / (Dim * 4L);
        if (available < rows)
        {
            Console.Error.WriteLine($"twostage-build: {basePath} has {available:N0} rows, fewer than {rows:N0}.");
            return 2;
        }

        // The library's own bulk writer (the one SaveAsync uses: no journal while filling a file nobody sees yet),
        // fed row by row from the raw file, so the build holds one row in memory, not the store.
        var total = Stopwatch.StartNew();
        var temp = indexPath + ".building";
        var rowBytes = precision switch
        {
            VectorPrecision.Single => Dim * sizeof(float),
            VectorPrecision.Half => Dim * 2,
            _ => Int8Rows.RowBytes(Dim),
        };
        var raw = new byte[Dim * sizeof(float)];
        var unit = new float[Dim];
        var stored = new byte[rowBytes];
        using (var handle = File.OpenHandle(basePath))
        {
            void Encode(long row)
            {
                RandomAccess.Read(handle, raw, row * Dim * sizeof(float));
                VectorMath.Normalize(MemoryMarshal.Cast<byte, float>(raw), unit, Dim, $"row {row}", nameof(row));
                switch (precision)
                {
                    case VectorPrecision.Single:
                        MemoryMarshal.AsBytes(unit.AsSpan()).CopyTo(stored);
                        break;
                    case VectorPrecision.Half:
                        TensorPrimitives.ConvertToHalf(unit, MemoryMarshal.Cast<byte, Half>(stored.AsSpan()));
                        break;
                    default:
                        Int8Rows.Quantize(unit, stored);
                        break;
                }
            }

            // Medians as BuildBinaryCodesAsync computes them: up to 32,768 rows spread evenly, the values as stored.
            var sample = Math.Min(rows, BinaryCodes.MaxMedianSample);
            var medians = BinaryCodes.ComputeMedians(
                sample,
                Dim,
                (i, row) =>
                {
                    Encode((long)i * rows / sample);
                    switch (precision)
                    {
                        case VectorPrecision.Single:
                            unit.CopyTo(row, 0);
                            break;
                        case VectorPrecision.Half:
                            TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(stored.AsSpan()), row);
                            break;
                        default:
                            Int8Rows.Dequantize(stored, row);
                            break;
                    }
                },
                CancellationToken.None);
            var mediansTime = total.Elapsed;
            var now = DateTimeOffset.UtcNow;
            using (var index = SqliteIndex.Create(temp, Dim, "resnet18-4096-bench17", precision, now, now, [], bulk: true))
            {
                index.Begin(write: true);
                index.SetBinaryMedians(BinaryCodes.FormatMedians(medians));
                var seq = index.NextSeq(now);
                var metadata = SqliteIndex.MetadataJson(new Dictionary<string, string>(StringComparer.Ordinal));
                for (var row = 0; row < rows; row++)
                {
                    Encode(row);
                    index.Upsert(row.ToString(CultureInfo.InvariantCulture), seq, stored, metadata);
                    if ((row + 1) % 100_000 == 0)
                    {
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"twostage-build: {row + 1:N0} rows, {total.Elapsed.TotalSeconds:F0} s"));
                    }
                }

                index.Commit();
                index.FinishBulk();
            }

            await using (var file = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
            {
                file.Flush(flushToDisk: true);
            }

            File.Move(temp, indexPath);

            // One open with the vectors left in the file codes every row from the stored medians and writes the codes
            // into the file (binary_codes), so later opens read them instead of re-encoding.
            var coding = Stopwatch.StartNew();
            await using (var store = await EmbeddedVectorStore.OpenAsync(indexPath, new EmbeddedVectorStoreOptions { VectorsInMemory = false }).ConfigureAwait(false))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"twostage-build: codes of {store.Count:N0} rows written into the file in {coding.Elapsed.TotalSeconds:F1} s (has codes: {store.HasBinaryCodes})"));
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"twostage-build: {rows:N0} rows ({precision}): medians in {mediansTime.TotalSeconds:F1} s, written in {(total.Elapsed - mediansTime).TotalSeconds:F1} s"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"twostage-build: {indexPath}: {new FileInfo(indexPath).Length / 1e9:F2} GB, {total.Elapsed.TotalSeconds:F1} s in all"));
        Json(new { tool = "ours", what = "build", index = indexPath, rows, precision = precision.ToString(), seconds = total.Elapsed.TotalSeconds, bytes = new FileInfo(indexPath).Length });
        return 0;
    }

    /// <summary><c>--twostage-codes INDEX.db</c>: one open with the vectors left in the file, which writes the codes of every row that has none (files built before the codes were kept in the index).</summary>
    public static async Task<int> CodesAsync(string[] args)
    {
        var coding = Stopwatch.StartNew();
        await using var store = await EmbeddedVectorStore.OpenAsync(args[1], new EmbeddedVectorStoreOptions { VectorsInMemory = false }).ConfigureAwait(false);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"twostage-codes: {args[1]}: {store.Count:N0} rows opened (and coded where needed) in {coding.Elapsed.TotalSeconds:F1} s; has codes: {store.HasBinaryCodes}"));
        return 0;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var indexPath = args[1];
        var queries = ReadRows(args[2]);
        var reference = ReadReference(args[3], queries.Length);
        var mode = args.Length > 4 ? args[4] : "memory";
        if (mode is not ("memory" or "disk"))
        {
            Console.Error.WriteLine("twostage-index: mode is memory or disk.");
            return 2;
        }

        var counts = args.Length > 5 && args[5] != "-"
            ? args[5].Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray()
            : [50, 100, 200, 400, 800, 1600];
        var exactQueries = args.Length > 6 && args[6] != "-" ? Math.Min(queries.Length, int.Parse(args[6], CultureInfo.InvariantCulture)) : queries.Length;
        var cold = args.Length > 7 && args[7] == "cold";
        var info = await EmbeddedVectorStore.ReadInfoAsync(indexPath).ConfigureAwait(false);
        var options = new EmbeddedVectorStoreOptions { Precision = info.Precision, VectorsInMemory = mode == "memory" };
        var rssBefore = Rss();
        var open = Stopwatch.StartNew();
        await using var store = await EmbeddedVectorStore.OpenAsync(indexPath, options).ConfigureAwait(false);
        open.Stop();
        var codesBuilt = TimeSpan.Zero;
        var hadCodes = store.HasBinaryCodes;
        var enable = Stopwatch.StartNew();
        await store.EnableTwoStageAsync(200).ConfigureAwait(false);    // builds the codes if the file has none
        codesBuilt = enable.Elapsed;

        var label = string.Create(CultureInfo.InvariantCulture, $"{info.Precision} {store.Count:N0} rows, vectors {(mode == "disk" ? "on disk" : "in memory")}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"twostage-index: {label}: {indexPath} ({info.FileSize / 1e9:F2} GB) opened in {open.Elapsed.TotalSeconds:F2} s{(hadCodes ? ", codes read at open" : ", no codes in the file")}, EnableTwoStageAsync(200) {codesBuilt.TotalSeconds:F2} s; {queries.Length} queries, {Environment.ProcessorCount} cores"));
        var memory = Memory(store, rssBefore);
        Print(label, "after open", memory);
        Json(new { tool = "ours", what = "open", precision = info.Precision.ToString(), rows = store.Count, mode, open_s = open.Elapsed.TotalSeconds, enable_two_stage_s = codesBuilt.TotalSeconds, had_codes = hadCodes, file_bytes = info.FileSize, memory });

        if (cold)
        {
            foreach (var c in counts)
            {
                DropCaches();
                var (times, recall, _) = await SinglePassAsync(store, queries, reference, c).ConfigureAwait(false);
                Report(label, c, "cold page cache, first pass", recall, times, null);
            }
        }

        // One warm-up pass (JIT; with the vectors on disk it also brings every candidate's pages into the page cache).
        await SinglePassAsync(store, queries, reference, counts.Max()).ConfigureAwait(false);
        var single = counts.Select(_ => new List<double>()).ToArray();
        var hits = new int[counts.Length];
        var worst = Enumerable.Repeat(10, counts.Length).ToArray();
        for (var q = 0; q < queries.Length; q++)
        {
            for (var c = 0; c < counts.Length; c++)
            {
                var sw = Stopwatch.StartNew();
                var found = await store.SearchAsync(queries[q], TwoStage(counts[c])).ConfigureAwait(false);
                single[c].Add(sw.Elapsed.TotalMilliseconds);
                var h = Hits(found, reference[q]);
                hits[c] += h;
                worst[c] = Math.Min(worst[c], h);
            }
        }

        for (var c = 0; c < counts.Length; c++)
        {
            var batched = await BatchedAsync(store, queries, TwoStage(counts[c])).ConfigureAwait(false);
            Report(label, counts[c], "warm", (double)hits[c] / (10 * queries.Length), single[c], batched, worst[c]);
        }

        // Exact search of the same store (recall of the store's precision against exact fp32, and its latency).
        var exactTimes = new List<double>();
        var exactHits = 0;
        var exactWorst = 10;
        var exactSet = queries.Take(exactQueries).ToArray();
        var exactOptions = new VectorSearchOptions { Exact = true };
        await store.SearchAsync(queries[0], exactOptions).ConfigureAwait(false);
        for (var q = 0; q < exactSet.Length; q++)
        {
            var sw = Stopwatch.StartNew();
            var found = await store.SearchAsync(exactSet[q], exactOptions).ConfigureAwait(false);
            exactTimes.Add(sw.Elapsed.TotalMilliseconds);
            var h = Hits(found, reference[q]);
            exactHits += h;
            exactWorst = Math.Min(exactWorst, h);
        }

        var exactBatched = exactSet.Length >= 32 ? await BatchedAsync(store, exactSet, exactOptions).ConfigureAwait(false) : null;
        Report(label, 0, string.Create(CultureInfo.InvariantCulture, $"exact, {exactSet.Length} queries"), (double)exactHits / (10 * exactSet.Length), exactTimes, exactBatched, exactWorst);
        var after = Memory(store, rssBefore);
        Print(label, "after the searches", after);
        Json(new { tool = "ours", what = "memory_after_searches", label, memory = after });
        return 0;
    }

    private static VectorSearchOptions TwoStage(int candidates) => new() { Candidates = candidates };

    private static async Task<(List<double> Times, double Recall, int Worst)> SinglePassAsync(EmbeddedVectorStore store, float[][] queries, int[][] reference, int candidates)
    {
        var times = new List<double>();
        var hits = 0;
        var worst = 10;
        for (var q = 0; q < queries.Length; q++)
        {
            var sw = Stopwatch.StartNew();
            var found = await store.SearchAsync(queries[q], TwoStage(candidates)).ConfigureAwait(false);
            times.Add(sw.Elapsed.TotalMilliseconds);
            var h = Hits(found, reference[q]);
            hits += h;
            worst = Math.Min(worst, h);
        }

        return (times, (double)hits / (10 * queries.Length), worst);
    }

    /// <summary>Milliseconds per query of <c>SearchBatchAsync</c> over full batches of 32 queries, one per batch.</summary>
    private static async Task<List<double>> BatchedAsync(EmbeddedVectorStore store, float[][] queries, VectorSearchOptions options)
    {
        var times = new List<double>();
        for (var first = 0; first + 32 <= queries.Length; first += 32)
        {
            var batch = queries.Skip(first).Take(32).Select(q => (ReadOnlyMemory<float>)q).ToArray();
            var sw = Stopwatch.StartNew();
            await store.SearchBatchAsync(batch, options).ConfigureAwait(false);
            times.Add(sw.Elapsed.TotalMilliseconds / 32);
        }

        return times;
    }

    private static int Hits(IReadOnlyList<VectorSearchResult> found, int[] truth) =>
        found.Count(r => Array.IndexOf(truth, int.Parse(r.Id, CultureInfo.InvariantCulture)) >= 0);

    private static void Report(string label, int candidates, string how, double recall, List<double> times, List<double>? batched, int? worst = null)
    {
        var median = Benchmarking.MedianTimer.MedianOf(times);
        var p95 = Percentile(times, 0.95);
        var batchMedian = batched is { Count: > 0 } ? Benchmarking.MedianTimer.MedianOf(batched) : double.NaN;
        var what = candidates == 0 ? how : string.Create(CultureInfo.InvariantCulture, $"{candidates} candidates, {how}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"twostage-index: {label}: {what}: recall@10 {recall:F4}{(worst is { } w ? $" (worst {w}/10)" : string.Empty)}, single query median {median:F2} ms, p95 {p95:F2} ms{(double.IsNaN(batchMedian) ? string.Empty : $", batch of 32 {batchMedian:F2} ms per query")}"));
        Json(new { tool = "ours", what = "search", label, candidates, how, recall, worst, median_ms = median, p95_ms = p95, batch32_ms_per_query = double.IsNaN(batchMedian) ? (double?)null : batchMedian, queries = times.Count });
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
    }

    private static Dictionary<string, double> Memory(EmbeddedVectorStore store, Dictionary<string, long> rssBefore)
    {
        var heap = GC.GetTotalMemory(forceFullCollection: true);
        var rss = Rss();
        return new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["vectors_mb"] = store.VectorMemoryBytes / 1e6,
            ["codes_mb"] = store.BinaryCodeMemoryBytes / 1e6,
            ["managed_heap_mb"] = heap / 1e6,
            ["rss_mb"] = rss.GetValueOrDefault("VmRSS") / 1e3,
            ["rss_anon_mb"] = rss.GetValueOrDefault("RssAnon") / 1e3,
            ["rss_file_mb"] = rss.GetValueOrDefault("RssFile") / 1e3,
            ["rss_peak_mb"] = rss.GetValueOrDefault("VmHWM") / 1e3,
            ["rss_before_open_mb"] = rssBefore.GetValueOrDefault("VmRSS") / 1e3,
        };
    }

    private static void Print(string label, string when, Dictionary<string, double> m) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"twostage-index: {label}: memory {when}: vectors {m["vectors_mb"]:F1} MB, codes {m["codes_mb"]:F1} MB, managed heap after GC {m["managed_heap_mb"]:F1} MB, RSS {m["rss_mb"]:F0} MB (anonymous {m["rss_anon_mb"]:F0}, file-backed (SQLite's mmap of the index, the runtime's libraries) {m["rss_file_mb"]:F0}; peak {m["rss_peak_mb"]:F0}; {m["rss_before_open_mb"]:F0} before the open)"));

    /// <summary>The process's memory lines of /proc/self/status, in kB.</summary>
    private static Dictionary<string, long> Rss()
    {
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            var parts = line.Split(':', 2);
            if (parts.Length == 2 && parts[0] is "VmRSS" or "RssAnon" or "RssFile" or "RssShmem" or "VmHWM")
            {
                result[parts[0]] = long.Parse(parts[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        return result;
    }

    private static void DropCaches()
    {
        using (var sync = Process.Start("sync"))
        {
            sync?.WaitForExit();
        }

        File.WriteAllText("/proc/sys/vm/drop_caches", "1");
    }

    private static float[][] ReadRows(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var floats = MemoryMarshal.Cast<byte, float>(bytes).ToArray();
        return Enumerable.Range(0, floats.Length / Dim).Select(i => floats.AsSpan(i * Dim, Dim).ToArray()).ToArray();
    }

    private static int[][] ReadReference(string path, int queries)
    {
        var ints = MemoryMarshal.Cast<byte, int>(File.ReadAllBytes(path)).ToArray();
        if (ints.Length != queries * 10)
        {
            throw new InvalidDataException($"{path} holds {ints.Length} ids, not {queries} queries x 10.");
        }

        return Enumerable.Range(0, queries).Select(q => ints.AsSpan(q * 10, 10).ToArray()).ToArray();
    }

    private static void Json(object value) => Console.WriteLine(JsonSerializer.Serialize(value));
}
