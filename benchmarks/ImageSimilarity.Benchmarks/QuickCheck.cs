using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Reflection;
using BenchmarkDotNet.Attributes;
using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;
using ImageSimilarity.Storage;

namespace ImageSimilarity.Benchmarks;

/// <summary>
/// <para><c>ImageSimilarity.Benchmarks --quick</c>: the smoke run CI uses so the benchmarks never rot (well under 3
/// minutes, no download, exit code 1 on any failure). It runs every benchmark method once with the smallest parameters
/// (setup, body, cleanup: what BenchmarkDotNet would call), then checks results: preprocessing of every size and
/// preset, store upsert/search/save/open, and a real extraction in fp32 and bf16 on random weights written on the
/// fly (<see cref="BenchmarkWeights"/>). The weight-loading benchmarks for the two <c>.pth</c> formats run only when
/// <c>$IMAGESIMILARITY_BENCH_WEIGHTS_DIR</c> names their folder (generating them needs Python and 20 s).</para>
/// <para><c>--quick COUNT [single|half|int8] [rounds]</c>: an interleaved Stopwatch loop of search time against stream
/// time over COUNT vectors, for tuning on a shared machine.</para>
/// </summary>
internal static class QuickCheck
{
    private static int _failures;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length > 1 && int.TryParse(args[1], CultureInfo.InvariantCulture, out var count))
        {
            var precision = args.Length > 2 ? args[2] switch { "half" => VectorPrecision.Half, "int8" => VectorPrecision.Int8, _ => VectorPrecision.Single } : VectorPrecision.Single;
            var rounds = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 15;
            return await SearchLoopAsync(count, precision, rounds).ConfigureAwait(false);
        }

        var total = Stopwatch.StartNew();
        await Step("benchmark methods, smallest parameters", EveryBenchmarkOnceAsync).ConfigureAwait(false);
        await Step("preprocessing per size and preset", Preprocessing).ConfigureAwait(false);
        await Step("store upsert, search, save, open", StoreAsync).ConfigureAwait(false);
        await Step("storage comparison, SQLite against the old format (500 records, 1 round)", async () =>
        {
            Check(await StorageComparison.RunAsync(["--storage", "500", "half", "1"]).ConfigureAwait(false) == 0, "the storage comparison failed");
        }).ConfigureAwait(false);
        await Step("extraction fp32 and bf16 (random weights)", ExtractionAsync).ConfigureAwait(false);
        Console.WriteLine(_failures == 0
            ? $"quick: all checks passed in {total.Elapsed.TotalSeconds:F0} s"
            : $"quick: {_failures} check(s) FAILED ({total.Elapsed.TotalSeconds:F0} s)");
        return _failures == 0 ? 0 : 1;
    }

    private static async Task Step(string name, Func<Task> step)
    {
        Console.WriteLine($"quick: {name}");
        var sw = Stopwatch.StartNew();
        try
        {
            await step().ConfigureAwait(false);
            Console.WriteLine($"quick:   done in {sw.Elapsed.TotalSeconds:F1} s");
        }
#pragma warning disable CA1031 // A smoke run reports every failure and carries on.
        catch (Exception e)
#pragma warning restore CA1031
        {
            _failures++;
            Console.WriteLine($"quick:   FAILED: {e}");
        }
    }

    private static void Check(bool condition, string what)
    {
        if (!condition)
        {
            _failures++;
            Console.WriteLine($"quick:   FAILED: {what}");
        }
    }

    private static Task Step(string name, Action step) => Step(name, () =>
    {
        step();
        return Task.CompletedTask;
    });

    /// <summary>Runs [GlobalSetup], each [Benchmark] once and [GlobalCleanup] of every benchmark class.</summary>
    private static async Task EveryBenchmarkOnceAsync()
    {
        var haveReferenceFiles = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(BenchmarkWeights.WeightsDirectoryVariable));
        var types = typeof(QuickCheck).Assembly.GetTypes()
            .Where(t => t.GetMethods().Any(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null))
            .OrderBy(t => t.Name, StringComparer.Ordinal);
        foreach (var type in types)
        {
            var instance = Activator.CreateInstance(type)!;
            foreach (var property in type.GetProperties())
            {
                if (property.GetCustomAttribute<ParamsAttribute>() is { } values)
                {
                    property.SetValue(instance, values.Values[0]);
                }
            }

            if (type == typeof(WeightLoadingBenchmarks))
            {
                if (!haveReferenceFiles)
                {
                    // The safetensors path is still exercised: the extraction checks load a generated safetensors file.
                    Console.WriteLine($"quick:   {type.Name}: skipped (set ${BenchmarkWeights.WeightsDirectoryVariable} to a folder written by tests/reference/vgg16_reference.py full)");
                    continue;
                }
            }

            var sw = Stopwatch.StartNew();
            await InvokeAll<GlobalSetupAttribute>(type, instance).ConfigureAwait(false);
            try
            {
                await InvokeAll<BenchmarkAttribute>(type, instance).ConfigureAwait(false);
            }
            finally
            {
                await InvokeAll<GlobalCleanupAttribute>(type, instance).ConfigureAwait(false);
            }

            Console.WriteLine($"quick:   {type.Name}: ok ({sw.Elapsed.TotalSeconds:F1} s)");
        }
    }

    private static async Task InvokeAll<TAttribute>(Type type, object instance)
        where TAttribute : Attribute
    {
        foreach (var method in type.GetMethods().Where(m => m.GetCustomAttribute<TAttribute>() is not null))
        {
            var result = method.Invoke(instance, null);
            if (result is Task task)
            {
                await task.ConfigureAwait(false);
            }
        }
    }

    private static void Preprocessing()
    {
        foreach (var size in new[] { "small", "typical", "12MP" })
        {
            var jpeg = BenchmarkImages.Jpeg(size);
            foreach (var preset in new[] { PreprocessingPreset.Torchvision, PreprocessingPreset.KerasCaffe })
            {
                var preprocessor = new ImagePreprocessor(preset);
                var image = ImageInput.FromBytes(jpeg, $"{size}.jpeg");
                var ms = PeerHarness.Median(size == "12MP" ? 1 : 3, () => preprocessor.Preprocess(image)) * 1e3;
                var tensor = preprocessor.Preprocess(image);
                Check(tensor.Data.Length == ImagePreprocessor.InputLength, $"{size} {preset}: {tensor.Data.Length} floats");
                Check(TensorPrimitives.MaxMagnitude(tensor.Data.Span) is > 0 and < 300, $"{size} {preset}: values out of range");
                Console.WriteLine($"quick:   {size} ({jpeg.Length / 1024} KB JPEG) {preset}: {ms:F1} ms");
            }
        }
    }

    private static async Task StoreAsync()
    {
        foreach (var precision in new[] { VectorPrecision.Single, VectorPrecision.Half })
        {
            const int Count = 3000;
            var records = BenchmarkData.Records(Count, seed: 9).ToArray();
            await using var store = EmbeddedVectorStore.Create(BenchmarkData.Dimension, "quick", new EmbeddedVectorStoreOptions { Precision = precision });
            await store.UpsertAsync(records).ConfigureAwait(false);
            Check(store.Count == Count, $"{precision}: count {store.Count}");
            var query = records[1234].Vector;
            var hits = await store.SearchAsync(query).ConfigureAwait(false);
            Check(hits.Count == 10 && hits[0].Id == records[1234].Id && hits[0].Similarity > 0.999f, $"{precision}: a stored vector is not its own top hit");
            var batch = await store.SearchBatchAsync([query, records[7].Vector]).ConfigureAwait(false);
            Check(batch.Count == 2 && batch[0][0].Id == records[1234].Id && batch[1][0].Id == records[7].Id, $"{precision}: batched search disagrees");
            var path = Path.Combine(Path.GetTempPath(), $"imgsim-quick-{Guid.NewGuid():N}.db");
            try
            {
                await store.SaveAsync(path).ConfigureAwait(false);
                await using var opened = await EmbeddedVectorStore.OpenAsync(path).ConfigureAwait(false);
                var again = await opened.SearchAsync(query).ConfigureAwait(false);
                Check(opened.Count == Count && again[0].Id == hits[0].Id, $"{precision}: saved and opened store differs");
            }
            finally
            {
                File.Delete(path);
            }

            Console.WriteLine($"quick:   {Count} x {BenchmarkData.Dimension} {precision}: upsert, search, batch, save, open ok");
        }
    }

    private static async Task ExtractionAsync()
    {
        var path = BenchmarkWeights.ForExtraction();
        var images = new[] { "small", "typical" }
            .Select((size, i) => new ImagePreprocessor().Preprocess(ImageInput.FromBytes(BenchmarkImages.Jpeg(size, seed: i), size)))
            .ToArray();
        var features = new Dictionary<ComputePrecision, IReadOnlyList<float[]>>();
        foreach (var precision in new[] { ComputePrecision.Float32, ComputePrecision.BFloat16 })
        {
            using var extractor = BenchmarkWeights.Load(path, precision, batchSize: images.Length);
            var sw = Stopwatch.StartNew();
            var vectors = await extractor.ExtractPreprocessedAsync(images).ConfigureAwait(false);
            var seconds = sw.Elapsed.TotalSeconds;
            Check(vectors.Count == images.Length && vectors.All(v => v.Length == Vgg16FeatureExtractor.FeatureDimension), $"{precision}: wrong shape");
            Check(vectors.All(v => v.All(float.IsFinite) && v.Min() >= 0 && v.Max() > 0), $"{precision}: features not finite, negative or all zero");
            features[precision] = vectors;
            Console.WriteLine($"quick:   {precision}: load {extractor.LoadTime.TotalSeconds:F1} s, batch of {images.Length} in {seconds:F2} s (first call)");
        }

        for (var i = 0; i < images.Length; i++)
        {
            var cosine = TensorPrimitives.CosineSimilarity(features[ComputePrecision.Float32][i], features[ComputePrecision.BFloat16][i]);
            Console.WriteLine($"quick:   cosine fp32 vs bf16, image {i}: {cosine:F5}");
            Check(cosine >= 0.99f, $"cosine fp32 vs bf16 {cosine:F5} < 0.99");
        }
    }

    /// <summary>
    /// Interleaved Stopwatch check of search time against stream time: each round streams the vectors, runs one search,
    /// streams again and runs one batch of 32, so both sides see the same load from other processes; the per-round
    /// ratios are reported as medians. Use it on a shared machine, next to the BenchmarkDotNet numbers.
    /// </summary>
    private static async Task<int> SearchLoopAsync(int count, VectorPrecision precision, int rounds)
    {
        var bench = new SearchBenchmarks { Count = count, Precision = precision };
        await bench.SetupAsync().ConfigureAwait(false);

        // Warm-up (JIT, page faults).
        bench.StreamOnce();
        await bench.SearchOne().ConfigureAwait(false);
        await bench.SearchBatch32().ConfigureAwait(false);

        var stream = new List<double>();
        var one = new List<double>();
        var batch = new List<double>();
        var oneRatio = new List<double>();
        var batchRatio = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            var s1 = TimeMs(() => bench.StreamOnce());
            var o = TimeMs(() => bench.SearchOne().GetAwaiter().GetResult());
            var s2 = TimeMs(() => bench.StreamOnce());
            var b = TimeMs(() => bench.SearchBatch32().GetAwaiter().GetResult()) / 32;
            stream.Add((s1 + s2) / 2);
            one.Add(o);
            batch.Add(b);
            oneRatio.Add(o / ((s1 + s2) / 2));
            batchRatio.Add(b / s2);
        }

        Console.WriteLine(
            $"{count} x {BenchmarkData.Dimension} {precision}, {rounds} interleaved rounds (medians): stream {MedianOf(stream):F1} ms, "
            + $"search 1 query {MedianOf(one):F1} ms ({MedianOf(oneRatio):F2}x stream), batch-32 {MedianOf(batch):F1} ms/query ({MedianOf(batchRatio):F2}x stream)");
        await bench.CleanupAsync().ConfigureAwait(false);
        return 0;
    }

    private static double TimeMs<T>(Func<T> action)
    {
        var sw = Stopwatch.StartNew();
        action();
        return sw.Elapsed.TotalMilliseconds;
    }

    private static double MedianOf(List<double> values) => Benchmarking.MedianTimer.MedianOf(values);
}
