using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Text.Json;
using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;
using ImageSimilarity.Indexing;
using ImageSimilarity.OnnxRuntime;
using ImageSimilarity.Storage;

// The library's side of the ONNX Runtime benchmarks (docs/models.md); one JSON line per measurement, like the peers.
//
//   ResNet18Throughput resnet18 IMAGE_FOLDER [--repeat 3] [--batch 8] [--mlnet-features F.f32] [--compare-only]
//       end to end (files to vectors: FolderIndexer into an in-memory store, and ExtractAsync) and model only
//       (preprocessed inputs in memory), then, given the ML.NET peer's features (same sorted file order), how far
//       they are from ours (cosine) and the leave-one-out retrieval quality of both.
//       --compare-only skips the timings.
//   ResNet18Throughput vgg16 WEIGHTS [--repeat 3] [--batch 8] [--remeasure | --rule] [--int8 IMAGE_FOLDER]
//       model only, batch N: TorchSharp fp32, the ONNX Runtime engine (fp32), TorchSharp bf16, each marked with
//       whether auto picks it (auto: the cached measurement for this CPU model, measured first if there is none);
//       --int8: the int8 QDQ graph against fp32 on ONNX Runtime (speed, cosine and top-5 neighbours on the folder).
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: ResNet18Throughput resnet18 IMAGE_FOLDER [--repeat 3] [--batch 8] [--mlnet-features F.f32] | vgg16 WEIGHTS [--repeat 3] [--batch 8]");
    return 2;
}

var repeat = int.Parse(Option("--repeat", "3"), CultureInfo.InvariantCulture);
var batch = int.Parse(Option("--batch", "8"), CultureInfo.InvariantCulture);
var cpu = File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?" : "?";
Print(new() { ["machine"] = cpu, ["cores"] = Environment.ProcessorCount, ["ort"] = typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly.GetName().Version?.ToString(3) ?? "?" });

if (args[0] == "resnet18")
{
    var folder = Path.GetFullPath(args[1]);
    var files = Directory.GetFiles(folder).Order(StringComparer.Ordinal).ToArray();
    var load = Stopwatch.StartNew();
    using var extractor = ResNet18Model.Load(new OnnxExtractorOptions { BatchSize = batch });
    var loadSeconds = load.Elapsed.TotalSeconds;
    var inputs = files.Select(ImageInput.FromFile).ToList();

    IReadOnlyList<float[]> ours = [];
    if (Array.IndexOf(args, "--compare-only") >= 0)
    {
        ours = extractor.ExtractAsync(inputs).GetAwaiter().GetResult();
    }
    else
    {
        var indexer = Median(repeat, () =>
        {
            var store = EmbeddedVectorStore.Create(extractor.Dimension, extractor.ModelId);
            var result = new FolderIndexer(extractor, store).IndexAsync(folder).GetAwaiter().GetResult();
            store.Dispose();
            return result.Indexed;
        });
        Report("end-to-end (FolderIndexer)", indexer, files.Length, loadSeconds);
        var extract = Median(repeat, () => (ours = extractor.ExtractAsync(inputs).GetAwaiter().GetResult()).Count);
        Report("end-to-end (ExtractAsync)", extract, files.Length, loadSeconds);
        var prepared = inputs.Select(extractor.Preprocessor.Preprocess).ToList();
        var model = Median(repeat, () => extractor.ExtractPreprocessedAsync(prepared).GetAwaiter().GetResult().Count);
        Report("model-only", model, files.Length, loadSeconds);
    }

    var quality = Quality(files, ours);
    Print(new() { ["library"] = "ImageSimilarity", ["model"] = "resnet18", ["p_at_1"] = quality.P1, ["map"] = quality.Map });
    if (Option("--mlnet-features", string.Empty) is { Length: > 0 } mlnetPath)
    {
        var flat = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(mlnetPath)).ToArray();
        var mlnet = Enumerable.Range(0, files.Length).Select(i => flat.AsSpan(i * 512, 512).ToArray()).ToList();
        var cosines = Enumerable.Range(0, files.Length).Select(i => (double)TensorPrimitives.CosineSimilarity(ours[i], mlnet[i])).Order().ToArray();
        var peerQuality = Quality(files, mlnet);
        Print(new()
        {
            ["peer"] = "mlnet-dnnfeaturizeimage",
            ["model"] = "resnet18",
            ["cosine_to_ours_min"] = cosines[0],
            ["cosine_to_ours_median"] = cosines[cosines.Length / 2],
            ["p_at_1"] = peerQuality.P1,
            ["map"] = peerQuality.Map,
        });
    }
}
else if (args[0] == "resnet18-variants")
{
    // Why FolderIndexer can trail ExtractAsync on a small machine: ONNX Runtime's spinning threads and the decode
    // workers competing for the cores. Every variant runs once per round, rounds interleaved so that a change in the
    // machine's load hits all of them alike; the median per variant, wall and process CPU seconds.
    var folder = Path.GetFullPath(args[1]);
    var files = Directory.GetFiles(folder).Order(StringComparer.Ordinal).ToArray();
    var inputs = files.Select(ImageInput.FromFile).ToList();
    using var quiet = ResNet18Model.Load(new OnnxExtractorOptions { BatchSize = batch, SpinWait = false });
    using var spinning = ResNet18Model.Load(new OnnxExtractorOptions { BatchSize = batch, SpinWait = true });
    var variants = new List<(string Name, Func<int> Run)>();
    foreach (var (spinName, extractor) in new[] { ("spin-off", quiet), ("spin-on", spinning) })
    {
        foreach (var workers in new[] { 1, 2 })
        {
            variants.Add(($"FolderIndexer {spinName} decode-workers {workers}", () => IndexFolder(extractor, folder, workers)));
        }

        variants.Add(($"ExtractAsync {spinName}", () => extractor.ExtractAsync(inputs).GetAwaiter().GetResult().Count));
    }

    var wall = variants.ToDictionary(v => v.Name, _ => new List<double>());
    var cpuTime = variants.ToDictionary(v => v.Name, _ => new List<double>());
    foreach (var (_, run) in variants)
    {
        run(); // warm-up
    }

    for (var round = 0; round < repeat; round++)
    {
        foreach (var (name, run) in variants)
        {
            var cpuBefore = Environment.CpuUsage.TotalTime;
            var sw = Stopwatch.StartNew();
            run();
            wall[name].Add(sw.Elapsed.TotalSeconds);
            cpuTime[name].Add((Environment.CpuUsage.TotalTime - cpuBefore).TotalSeconds);
        }
    }

    foreach (var (name, _) in variants)
    {
        var seconds = wall[name].Order().ElementAt(repeat / 2);
        Print(new()
        {
            ["library"] = "ImageSimilarity",
            ["model"] = "resnet18",
            ["variant"] = name,
            ["batch"] = batch,
            ["images"] = files.Length,
            ["seconds"] = seconds,
            ["cpu_seconds"] = cpuTime[name].Order().ElementAt(repeat / 2),
            ["images_per_second"] = files.Length / seconds,
        });
    }
}
else if (args[0] == "vgg16")
{
    var weights = Path.GetFullPath(args[1]);
    var random = new Random(1);
    var prepared = Enumerable.Range(0, batch).Select(i => new PreprocessedImage($"r{i}", Enumerable.Range(0, 3 * 224 * 224).Select(_ => (random.NextSingle() * 4) - 2).ToArray(), 3, 224, 224)).ToList();
    // What auto picks here: measured at its first use on this CPU model (or read from the cache), like the CLI does;
    // --remeasure measures again, --rule applies the CPU rule instead.
    var auto = Vgg16EngineSelector.ChooseAsync(
        null,
        null,
        new Vgg16ExtractorOptions { WeightsPath = weights },
        new Vgg16AutoOptions { Remeasure = Array.IndexOf(args, "--remeasure") >= 0, Measure = Array.IndexOf(args, "--rule") < 0 }).GetAwaiter().GetResult();
    Print(new() { ["auto"] = $"{auto.Engine} {auto.Precision}", ["source"] = auto.Source.ToString(), ["reason"] = auto.Reason, ["cpu"] = cpu });
    if (Option("--int8", string.Empty) is { Length: > 0 } seedFolder)
    {
        Int8(weights, seedFolder, prepared);
    }
    foreach (var (name, choice) in new[]
    {
        ("torchsharp-fp32", new Vgg16EngineChoice(Vgg16Engine.TorchSharp, ComputePrecision.Float32, "fixed")),
        ("onnxruntime-fp32", new Vgg16EngineChoice(Vgg16Engine.OnnxRuntime, ComputePrecision.Float32, "fixed")),
        ("torchsharp-bf16", new Vgg16EngineChoice(Vgg16Engine.TorchSharp, ComputePrecision.BFloat16, "fixed")),
    })
    {
        var load = Stopwatch.StartNew();
        using var extractor = (IPreprocessingFeatureExtractor)Vgg16EngineSelector.LoadAsync(choice, new Vgg16ExtractorOptions { WeightsPath = weights, BatchSize = batch }).GetAwaiter().GetResult();
        var loadSeconds = load.Elapsed.TotalSeconds;
        var seconds = Median(repeat, () => extractor.ExtractPreprocessedAsync(prepared).GetAwaiter().GetResult().Count);
        Print(new()
        {
            ["library"] = "ImageSimilarity",
            ["model"] = "vgg16",
            ["engine"] = name,
            ["auto_picks_this"] = auto.Engine == choice.Engine && auto.Precision == choice.Precision,
            ["cpu"] = cpu,
            ["batch"] = batch,
            ["load_seconds"] = loadSeconds,
            ["seconds_per_batch"] = seconds,
            ["images_per_second"] = batch / seconds,
        });
    }

}

return 0;

void Report(string mode, double seconds, int images, double loadSeconds) => Print(new()
{
    ["library"] = "ImageSimilarity",
    ["model"] = "resnet18",
    ["mode"] = mode,
    ["batch"] = batch,
    ["images"] = images,
    ["load_seconds"] = loadSeconds,
    ["seconds"] = seconds,
    ["images_per_second"] = images / seconds,
});

// int8 VGG16 (QDQ, calibrated on the first 8 images of the folder) against fp32 on ONNX Runtime: speed on the same
// random inputs, then on every image of the folder the cosine to fp32 and how many of each image's top-5 neighbours
// (leave-one-out, cosine) are the same.
void Int8(string weights, string folder, List<PreprocessedImage> speedInputs)
{
    var files = Directory.GetFiles(Path.GetFullPath(folder)).Order(StringComparer.Ordinal).ToArray();
    var images = files.Select(ImageInput.FromFile).ToList();
    var options = new Vgg16ExtractorOptions { WeightsPath = weights, BatchSize = batch };
    using var fp32 = Vgg16OnnxModel.Load(weights, options);
    var load = Stopwatch.StartNew();
    using var int8 = Vgg16OnnxModel.LoadInt8Async(weights, images.Take(8).ToList(), options).GetAwaiter().GetResult();
    var int8Load = load.Elapsed.TotalSeconds;
    var fp32Seconds = Median(repeat, () => fp32.ExtractPreprocessedAsync(speedInputs).GetAwaiter().GetResult().Count);
    var int8Seconds = Median(repeat, () => int8.ExtractPreprocessedAsync(speedInputs).GetAwaiter().GetResult().Count);
    var a = fp32.ExtractAsync(images).GetAwaiter().GetResult();
    var b = int8.ExtractAsync(images).GetAwaiter().GetResult();
    var cosines = a.Select((v, i) => (double)TensorPrimitives.CosineSimilarity(v, b[i])).Order().ToArray();
    var overlap = Top5Overlap(a, b);
    Print(new()
    {
        ["library"] = "ImageSimilarity",
        ["model"] = "vgg16",
        ["engine"] = "onnxruntime-int8 vs onnxruntime-fp32",
        ["batch"] = batch,
        ["cpu"] = cpu,
        ["int8_load_and_calibration_seconds"] = int8Load,
        ["fp32_images_per_second"] = batch / fp32Seconds,
        ["int8_images_per_second"] = batch / int8Seconds,
        ["speedup"] = fp32Seconds / int8Seconds,
        ["images"] = files.Length,
        ["cosine_min"] = cosines[0],
        ["cosine_median"] = cosines[cosines.Length / 2],
        ["top5_same"] = overlap,
    });
}

static double Top5Overlap(IReadOnlyList<float[]> a, IReadOnlyList<float[]> b)
{
    int[] Top5(IReadOnlyList<float[]> v, int q) => Enumerable.Range(0, v.Count).Where(i => i != q).OrderByDescending(i => TensorPrimitives.CosineSimilarity(v[q], v[i])).Take(5).ToArray();
    var same = 0;
    for (var q = 0; q < a.Count; q++)
    {
        same += Top5(a, q).Intersect(Top5(b, q)).Count();
    }

    return same / (5.0 * a.Count);
}

static int IndexFolder(OnnxFeatureExtractor extractor, string folder, int workers)
{
    using var store = EmbeddedVectorStore.Create(extractor.Dimension, extractor.ModelId);
    return new FolderIndexer(extractor, store).IndexAsync(folder, new FolderIndexOptions { DecodeWorkers = workers }).GetAwaiter().GetResult().Indexed;
}

static void Print(Dictionary<string, object> values) => Console.WriteLine(JsonSerializer.Serialize(values));

string Option(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

static double Median(int n, Func<int> run)
{
    run(); // warm-up
    var times = new List<double>();
    for (var i = 0; i < n; i++)
    {
        var sw = Stopwatch.StartNew();
        run();
        times.Add(sw.Elapsed.TotalSeconds);
    }

    times.Sort();
    return times[times.Count / 2];
}

// Leave-one-out on the file names' categories (name without digits, case-insensitive): P@1 and mAP.
static (double P1, double Map) Quality(string[] files, IReadOnlyList<float[]> vectors)
{
    string Category(string f) => new string(Path.GetFileNameWithoutExtension(f).Where(c => !char.IsAsciiDigit(c)).ToArray()).ToLowerInvariant();
    double p1 = 0, map = 0;
    for (var q = 0; q < files.Length; q++)
    {
        var ranked = Enumerable.Range(0, files.Length).Where(i => i != q).OrderByDescending(i => TensorPrimitives.CosineSimilarity(vectors[q], vectors[i])).ToList();
        var category = Category(files[q]);
        p1 += Category(files[ranked[0]]) == category ? 1 : 0;
        var hits = 0;
        var sum = 0.0;
        for (var r = 0; r < ranked.Count; r++)
        {
            if (Category(files[ranked[r]]) == category)
            {
                hits++;
                sum += (double)hits / (r + 1);
            }
        }

        map += hits == 0 ? 0 : sum / hits;
    }

    return (p1 / files.Length, map / files.Length);
}
