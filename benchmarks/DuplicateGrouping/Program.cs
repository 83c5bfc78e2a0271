using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using ImageSimilarity.Duplicates;
using ImageSimilarity.Storage;

// The issue 13 target: "100,000 stored vectors grouped in at most 3x the time of 100,000/32 batched searches".
// DuplicateFinder.FindAsync against EmbeddedVectorStore.SearchBatchAsync (batches of 32, the same options) on the same
// in-memory store of realistic 4096-d vectors: the seed sample's 88 Keras VGG16 fc2 vectors (ImageNet weights), mixed
// and perturbed into distinct images, plus planted near-copies. See docs/duplicates.md for the numbers and how.
//
//   dotnet run -c Release --project benchmarks/DuplicateGrouping -- [--count 100000] [--batches 40] [--full-count 20000] [--seed-sample DIR]
//
// At 100,000 one batched scan of 32 queries takes about half a second on 2 cores, so the full 3,125 batches would take
// about half an hour per side: at --count the program times --batches batches of both (the finder is stopped after that
// many batches, through its progress report and token) and extrapolates; at --full-count both run to the end.
var count = IntArg("--count", 100_000);
var batches = IntArg("--batches", 40);
var fullCount = IntArg("--full-count", 20_000);
var seedDir = Arg("--seed-sample") ?? Path.Combine(Environment.GetEnvironmentVariable("IMAGESIMILARITY_SHARED") ?? "../shared", "datasets", "seed-sample");
const int Dimension = 4096;
const int Batch = 32;
const string ModelId = "vgg16-fc2/keras-seed-sample-mixed/keras-caffe";

Console.WriteLine($"CPU: {Cpu()}, {Environment.ProcessorCount} cores; load average before: {Load()}");
var keras = ReadKeras(Path.Combine(seedDir, "keras-vgg16-fc2.f32"));
var sw = Stopwatch.StartNew();
var (vectors, origin) = Generate(count, keras, seed: 2026);
Console.WriteLine($"generated {count:N0} x {Dimension} vectors ({origin.Count(o => o >= 0):N0} planted copies) in {sw.Elapsed.TotalSeconds:F1} s");
Describe(vectors, origin);

var threshold = DuplicateFinderOptions.DefaultThresholdFor(ModelId);
var options = new DuplicateFinderOptions { BatchSize = Batch };
var search = new VectorSearchOptions { Top = options.Neighbours + 1, MinSimilarity = threshold };

// The machine is shared: so that a change of load between two phases does not bias the ratio, both sides are
// interleaved. After each batch of the finder (in its synchronous progress report) the same batch of 32 queries is
// searched with SearchBatchAsync and timed; the finder's own time is its wall time minus those reports.

// 1. At --count: --batches batches of both, extrapolated to count / 32 (plus the finder's measured setup).
using (var store = await BuildAsync(vectors, count))
{
    var ids = store.GetIds().Order(StringComparer.Ordinal).ToArray(); // the finder's query order
    var run = await RunInterleavedAsync(store, ids, options, search, batches);
    var totalBatches = (count + Batch - 1) / Batch;
    var finderPerBatch = (run.FinderSeconds - run.FirstReportAt) / (run.Batches - 1);
    var setup = run.FirstReportAt - finderPerBatch;
    var searchPerBatch = run.SearchSeconds / run.Batches;
    Console.WriteLine();
    Console.WriteLine($"## {count:N0} stored vectors, {run.Batches} of {totalBatches:N0} batches timed (interleaved), extrapolated");
    Console.WriteLine($"batched searches: {searchPerBatch * 1000:F1} ms per batch of 32 -> {searchPerBatch * totalBatches:F0} s for {totalBatches:N0} batches");
    Console.WriteLine($"DuplicateFinder: setup (list, sort, first reads) {setup:F2} s + {finderPerBatch * 1000:F1} ms per batch -> {setup + (finderPerBatch * totalBatches):F0} s without its final grouping step");
    Console.WriteLine($"ratio (finder search phase / batched searches): {(setup + (finderPerBatch * totalBatches)) / (searchPerBatch * totalBatches):F3}");
}

// 2. At --full-count: both sides to the end (the finder including its grouping step), interleaved the same way.
if (fullCount > 0)
{
    using var store = await BuildAsync(vectors, fullCount);
    var ids = store.GetIds().Order(StringComparer.Ordinal).ToArray();
    var run = await RunInterleavedAsync(store, ids, options, search, int.MaxValue);
    Console.WriteLine();
    Console.WriteLine($"## {fullCount:N0} stored vectors, complete runs (interleaved)");
    Console.WriteLine($"batched searches: {run.Batches} batches of 32 in {run.SearchSeconds:F1} s");
    Console.WriteLine($"DuplicateFinder: {run.FinderSeconds:F1} s (of which the final grouping step {run.GroupingSeconds:F2} s), {run.Groups!.Count:N0} groups, {run.Groups.Sum(g => g.Members.Count):N0} images in groups");
    Console.WriteLine($"ratio: {run.FinderSeconds / run.SearchSeconds:F3}");
    Score(run.Groups, origin, fullCount);
}

Console.WriteLine($"load average after: {Load()}; peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / (1 << 20):N0} MiB");
return 0;

// Runs the finder; after each of its batches, times SearchBatchAsync on the same 32 queries. Stops the finder after
// `batches` batches (by its token) unless it finishes first.
static async Task<Interleaved> RunInterleavedAsync(EmbeddedVectorStore store, string[] ids, DuplicateFinderOptions options, VectorSearchOptions search, int batches)
{
    using var stop = new CancellationTokenSource();
    var clock = Stopwatch.StartNew();
    double inReports = 0, searchSeconds = 0, firstReportAt = 0, lastReportAt = 0;
    var done = 0;
    var queries = new List<ReadOnlyMemory<float>>(Batch);
    IReadOnlyList<DuplicateGroup>? groups = null;
    try
    {
        groups = await DuplicateFinder.FindAsync(store, options, new SyncProgress(p =>
        {
            var entered = clock.Elapsed.TotalSeconds;
            lastReportAt = entered - inReports;
            if (done == 0)
            {
                firstReportAt = lastReportAt;
            }

            queries.Clear();
            for (var i = done * Batch; i < p.Searched; i++)
            {
                queries.Add(store.GetAsync(ids[i]).GetAwaiter().GetResult()!.Vector);
            }

            var sw = Stopwatch.StartNew();
            store.SearchBatchAsync(queries, search).GetAwaiter().GetResult();
            searchSeconds += sw.Elapsed.TotalSeconds;
            done++;
            if (done == batches)
            {
                stop.Cancel();
            }

            inReports += clock.Elapsed.TotalSeconds - entered;
        }), stop.Token);
    }
    catch (OperationCanceledException) when (stop.IsCancellationRequested)
    {
    }

    var finderSeconds = clock.Elapsed.TotalSeconds - inReports;
    return new Interleaved(done, searchSeconds, groups is null ? lastReportAt : finderSeconds, firstReportAt, groups is null ? 0 : finderSeconds - lastReportAt, groups);
}

static async Task<EmbeddedVectorStore> BuildAsync(float[][] vectors, int count)
{
    var store = EmbeddedVectorStore.Create(Dimension, ModelId);
    for (var start = 0; start < count; start += 4096)
    {
        await store.UpsertAsync(Enumerable.Range(start, Math.Min(4096, count - start)).Select(i => new VectorRecord($"img{i:D6}", vectors[i])));
    }

    return store;
}

// Distinct images: a random mix of two Keras vectors plus strong noise, through ReLU (fc2 activations are
// non-negative and sparse). Near-copies (every fifth image): an earlier image with a little noise.
static (float[][] Vectors, int[] Origin) Generate(int count, float[][] keras, int seed)
{
    var random = new Random(seed);
    var vectors = new float[count][];
    var origin = new int[count];
    var scale = keras.Average(v => v.Average());
    for (var i = 0; i < count; i++)
    {
        var v = new float[Dimension];
        if (i % 5 == 4)
        {
            var of = i - 1 - random.Next(Math.Min(i, 3));
            while (origin[of] >= 0)
            {
                of = origin[of];
            }

            origin[i] = of;
            var source = vectors[of];
            for (var d = 0; d < Dimension; d++)
            {
                v[d] = Math.Max(0, source[d] + (float)(Gaussian(random) * 0.4 * scale));
            }
        }
        else
        {
            origin[i] = -1;
            var a = keras[random.Next(keras.Length)];
            var b = keras[random.Next(keras.Length)];
            var w = (float)random.NextDouble();
            for (var d = 0; d < Dimension; d++)
            {
                v[d] = Math.Max(0, (w * a[d]) + ((1 - w) * b[d]) + (float)(Gaussian(random) * 1.5 * scale));
            }
        }

        vectors[i] = v;
    }

    return (vectors, origin);
}

static double Gaussian(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

static void Describe(float[][] vectors, int[] origin)
{
    var random = new Random(1);
    var distinct = new List<float>();
    for (var k = 0; k < 20_000; k++)
    {
        int i = random.Next(vectors.Length), j = random.Next(vectors.Length);
        if (i != j && Root(origin, i) != Root(origin, j))
        {
            distinct.Add(TensorPrimitives.CosineSimilarity(vectors[i], vectors[j]));
        }
    }

    var copies = Enumerable.Range(0, vectors.Length).Where(i => origin[i] >= 0).Take(20_000).Select(i => TensorPrimitives.CosineSimilarity(vectors[i], vectors[origin[i]])).ToList();
    distinct.Sort();
    copies.Sort();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cosine, random distinct pairs: median {distinct[distinct.Count / 2]:F4}, 99.9th pct {distinct[(int)(distinct.Count * 0.999)]:F4}, max {distinct[^1]:F4}; copy to its original: min {copies[0]:F4}, median {copies[copies.Count / 2]:F4}"));
}

static int Root(int[] origin, int i) => origin[i] >= 0 ? origin[i] : i;

static void Score(IReadOnlyList<DuplicateGroup> groups, int[] origin, int count)
{
    long predicted = 0, right = 0;
    foreach (var g in groups)
    {
        var m = g.Members.Select(x => int.Parse(x.Id.AsSpan(3), CultureInfo.InvariantCulture)).ToArray();
        for (var i = 0; i < m.Length; i++)
        {
            for (var j = i + 1; j < m.Length; j++)
            {
                predicted++;
                right += Root(origin, m[i]) == Root(origin, m[j]) ? 1 : 0;
            }
        }
    }

    var truth = Enumerable.Range(0, count).GroupBy(i => Root(origin, i)).Sum(g => (long)g.Count() * (g.Count() - 1) / 2);
    Console.WriteLine($"planted copies: {right:N0} of {truth:N0} same-origin pairs found, {predicted - right:N0} wrong pairs");
}

static float[][] ReadKeras(string path)
{
    var bytes = File.ReadAllBytes(path);
    var floats = new float[bytes.Length / 4];
    Buffer.BlockCopy(bytes, 0, floats, 0, bytes.Length);
    return Enumerable.Range(0, floats.Length / Dimension).Select(i => floats.AsSpan(i * Dimension, Dimension).ToArray()).ToArray();
}

static string Cpu() => File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";

static string Load() => File.ReadAllText("/proc/loadavg").Trim();

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

int IntArg(string name, int fallback) => Arg(name) is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : fallback;

internal sealed record Interleaved(int Batches, double SearchSeconds, double FinderSeconds, double FirstReportAt, double GroupingSeconds, IReadOnlyList<DuplicateGroup>? Groups);

internal sealed class SyncProgress(Action<DuplicateProgress> report) : IProgress<DuplicateProgress>
{
    public void Report(DuplicateProgress value) => report(value);
}
