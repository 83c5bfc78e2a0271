using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

// The ONNX Runtime peer for docs/benchmarks.md: what a .NET developer would most likely pick to run VGG16 without
// TorchSharp. It runs the network exported by `torch_peers.py onnx OUT.onnx` (the same VGG16 up to fc2 + ReLU) and
// prints one JSON line per batch size, measured like torch_peers.py and `ImageSimilarity.Benchmarks
// --peer-extraction`: one warm-up batch, then the median of N batches.
//
//   OnnxRuntimePeer MODEL.onnx [--batches 1,8,16] [--iterations 5] [--threads N]
if (args.Length == 0 || args[0].StartsWith('-'))
{
    Console.Error.WriteLine("usage: OnnxRuntimePeer MODEL.onnx [--batches 1,8,16] [--iterations 5] [--threads N]");
    return 2;
}

var modelPath = args[0];
var batches = Option("--batches", "1,8,16").Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture)).ToArray();
var iterations = int.Parse(Option("--iterations", "5"), CultureInfo.InvariantCulture);
var threads = int.Parse(Option("--threads", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

using var options = new SessionOptions
{
    IntraOpNumThreads = threads,
    InterOpNumThreads = 1,
    ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
    GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
};
var load = Stopwatch.StartNew();
using var session = new InferenceSession(modelPath, options);
var loadSeconds = load.Elapsed.TotalSeconds;
var lastCpuSeconds = 0.0;
var inputName = session.InputMetadata.Keys.First();
var version = typeof(InferenceSession).Assembly.GetName().Version?.ToString(3) ?? "?";

foreach (var batch in batches)
{
    var random = new Random(1);
    var data = new float[batch * 3 * 224 * 224];
    for (var i = 0; i < data.Length; i++)
    {
        data[i] = (random.NextSingle() * 4) - 2;
    }

    var input = new DenseTensor<float>(data, [batch, 3, 224, 224]);
    var inputs = new[] { NamedOnnxValue.CreateFromTensor(inputName, input) };
    var seconds = Median(iterations, () =>
    {
        using var results = session.Run(inputs);
        return results[0].AsTensor<float>().Length;
    });
    Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["peer"] = "onnxruntime",
        ["version"] = version,
        ["precision"] = "fp32",
        ["batch"] = batch,
        ["threads"] = threads,
        ["load_seconds"] = loadSeconds,
        ["seconds_per_batch"] = seconds,
        ["cpu_seconds_per_batch"] = lastCpuSeconds,
        ["images_per_second"] = batch / seconds,
    }));
}

return 0;

string Option(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

double Median(int n, Func<long> run)
{
    if (run() == 0)
    {
        throw new InvalidOperationException("The model returned an empty output.");
    }

    // That call was the warm-up.
    (var seconds, lastCpuSeconds) = ImageSimilarity.Benchmarking.MedianTimer.Measure(n, () => run(), warmUp: false);
    return seconds;
}
