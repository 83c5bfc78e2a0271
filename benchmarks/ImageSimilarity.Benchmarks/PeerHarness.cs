using System.Globalization;
using System.Text.Json;
using ImageSimilarity.Benchmarking;
using ImageSimilarity.Extraction;
using ImageSimilarity.Storage;
using TorchSharp;
using static TorchSharp.torch;

namespace ImageSimilarity.Benchmarks;

/// <summary>
/// This library's side of benchmarks/peers/run.sh, measured like the peers (one warm-up, then the median of N runs,
/// Stopwatch) and printed as one JSON object per line:
/// <code>
/// --peer-extraction [--weights F] [--batches 1,8,16] [--precision fp32,bf16] [--iterations 5] [--threads N] [--engine library|functional|channels-last|channels-last-input] [--layout channels-last|nchw]
/// --peer-gemm [--size 4096] [--iterations 5] [--threads N]
/// --peer-search [--counts 10000,100000] [--iterations 7]
/// --peer-load --directory D [--iterations 3]            (D holds vgg16_legacy.pth, vgg16_zip.pth, vgg16_timm.safetensors)
/// --peer-cosine --images DIR [--weights F] [--count 16] (fp32 against bf16 features of real images)
/// </code>
/// <c>--layout nchw</c> loads the extractor without channels-last (what it did before): the A/B that run.sh publishes.
/// <c>--engine functional|channels-last|channels-last-input</c> run the same VGG16 as plain TorchSharp calls over random
/// tensors (no weights file) in NCHW, channels-last, or channels-last input with NCHW weights: the exploratory probes
/// that found the layout effect. Their absolute speed is below the library's (they run on the calling thread and
/// build their tensors differently); compare them only with each other.
/// </summary>
internal static class PeerHarness
{
    /// <summary>Gets the process CPU time per run of the last <see cref="Median{T}"/> (all threads; compares work done when the machine is shared).</summary>
    internal static double LastCpuSeconds { get; private set; }

    public static async Task<int> RunAsync(string[] args)
    {
        var iterations = int.Parse(Option(args, "--iterations", "5"), CultureInfo.InvariantCulture);
        var threads = int.Parse(Option(args, "--threads", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        switch (args[0])
        {
            case "--peer-extraction":
                var batches = Option(args, "--batches", "1,8,16").Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture)).ToArray();
                var precisions = Option(args, "--precision", "fp32,bf16").Split(',');
                var engine = Option(args, "--engine", "library");
                ChannelsLast.Enabled = Option(args, "--layout", "channels-last") != "nchw";
                foreach (var precision in precisions)
                {
                    if (engine == "library")
                    {
                        await ExtractionAsync(Option(args, "--weights", string.Empty), precision, batches, iterations, threads).ConfigureAwait(false);
                    }
                    else
                    {
                        Functional(engine, precision, batches, iterations, threads);
                    }
                }

                return 0;
            case "--peer-gemm":
                Gemm(int.Parse(Option(args, "--size", "4096"), CultureInfo.InvariantCulture), iterations, threads);
                return 0;
            case "--peer-search":
                var counts = Option(args, "--counts", "10000,100000").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture));
                foreach (var count in counts)
                {
                    foreach (var precision in new[] { VectorPrecision.Single, VectorPrecision.Half })
                    {
                        await SearchAsync(count, precision, iterations).ConfigureAwait(false);
                    }
                }

                return 0;
            case "--peer-load":
                foreach (var file in BenchmarkWeights.ReferenceFiles)
                {
                    var path = Path.Combine(Option(args, "--directory", "."), file);
                    foreach (var precision in new[] { "fp32", "bf16" })
                    {
                        var seconds = Median(iterations, () =>
                        {
                            using var extractor = BenchmarkWeights.Load(path, ParsePrecision(precision), 8, threads);
                            return extractor.LoadTime;
                        });
                        Emit(new() { ["peer"] = "imagesimilarity", ["load"] = file, ["precision"] = precision, ["bytes"] = new FileInfo(path).Length, ["seconds"] = seconds });
                    }
                }

                return 0;
            case "--peer-cosine":
                await CosineAsync(Option(args, "--images", "."), Option(args, "--weights", string.Empty), int.Parse(Option(args, "--count", "16"), CultureInfo.InvariantCulture)).ConfigureAwait(false);
                return 0;
            default:
                Console.Error.WriteLine($"unknown mode {args[0]}");
                return 2;
        }
    }

    private static async Task ExtractionAsync(string weights, string precisionName, int[] batches, int iterations, int threads)
    {
        var precision = ParsePrecision(precisionName);
        var path = string.IsNullOrEmpty(weights) ? BenchmarkWeights.ForExtraction() : weights;
        using var extractor = BenchmarkWeights.Load(path, precision, batches.Max(), threads);
        foreach (var batch in batches)
        {
            var images = BenchmarkWeights.RandomImages(batch, seed: batch);
            var seconds = await MedianAsync(iterations, async () => (await extractor.ExtractPreprocessedAsync(images).ConfigureAwait(false)).Count).ConfigureAwait(false);
            Emit(new()
            {
                ["peer"] = ChannelsLast.Enabled ? "imagesimilarity" : "imagesimilarity-nchw",
                ["version"] = "TorchSharp " + typeof(torch).Assembly.GetName().Version?.ToString(3),
                ["precision"] = precisionName,
                ["batch"] = batch,
                ["threads"] = torch.get_num_threads(),
                ["load_seconds"] = extractor.LoadTime.TotalSeconds,
                ["seconds_per_batch"] = seconds,
                ["cpu_seconds_per_batch"] = LastCpuSeconds,
                ["images_per_second"] = batch / seconds,
            });
        }
    }

    private static async Task CosineAsync(string folder, string weights, int count)
    {
        var path = string.IsNullOrEmpty(weights) ? BenchmarkWeights.ForExtraction() : weights;
        var files = Directory.GetFiles(folder).Order(StringComparer.Ordinal).Take(count).Select(Imaging.ImageInput.FromFile).ToArray();
        IReadOnlyList<float[]> fp32, bf16;
        using (var extractor = BenchmarkWeights.Load(path, ComputePrecision.Float32, 8))
        {
            fp32 = await extractor.ExtractAsync(files).ConfigureAwait(false);
        }

        using (var extractor = BenchmarkWeights.Load(path, ComputePrecision.BFloat16, 8))
        {
            bf16 = await extractor.ExtractAsync(files).ConfigureAwait(false);
        }

        var cosines = fp32.Zip(bf16, (a, b) => (double)System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(a, b)).ToArray();
        Emit(new()
        {
            ["peer"] = "imagesimilarity",
            ["cosine"] = "fp32-vs-bf16",
            ["images"] = cosines.Length,
            ["weights"] = Path.GetFileName(path),
            ["min"] = cosines.Min(),
            ["mean"] = cosines.Average(),
        });
    }

    /// <summary>VGG16 up to fc2 + ReLU as plain TorchSharp calls over seeded random weights.</summary>
    private static void Functional(string engine, string precisionName, int[] batches, int iterations, int threads)
    {
        // channels-last: input and weights in channels-last layout; channels-last-input: only the input (libtorch then
        // runs every convolution channels-last, converting the NCHW weights itself).
        var channelsLast = engine is "channels-last" or "channels-last-input";
        var weightsChannelsLast = engine == "channels-last";
        torch.set_num_threads(threads);
        var dtype = ParsePrecision(precisionName) == ComputePrecision.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32;
        torch.manual_seed(0);
        var convs = new List<(Tensor W, Tensor B)>();
        var channels = 3;
        foreach (var c in Vgg16Network.Configuration.Where(c => c != 0))
        {
            var w = (torch.randn(c, channels, 3, 3) * MathF.Sqrt(2f / (channels * 9))).to(dtype);
            convs.Add((weightsChannelsLast ? ChannelsLast.From(w) : w, torch.zeros(c, dtype: dtype)));
            channels = c;
        }

        var fc1 = ((torch.randn(4096, 25088) * 0.01f).to(dtype), torch.zeros(4096, dtype: dtype));
        var fc2 = ((torch.randn(4096, 4096) * 0.02f).to(dtype), torch.zeros(4096, dtype: dtype));

        Tensor Forward(Tensor input)
        {
            using var scope = NewDisposeScope();
            var x = channelsLast ? ChannelsLast.From(input) : input;
            var layer = 0;
            foreach (var c in Vgg16Network.Configuration)
            {
                if (c == 0)
                {
                    x = nn.functional.max_pool2d(x, 2, 2);
                    continue;
                }

                x = nn.functional.conv2d(x, convs[layer].W, convs[layer].B, padding: [1, 1]).relu_();
                layer++;
            }

            x = nn.functional.adaptive_avg_pool2d(x, [7, 7]).flatten(1);
            x = nn.functional.linear(x, fc1.Item1, fc1.Item2).relu_();
            x = nn.functional.linear(x, fc2.Item1, fc2.Item2).relu_();
            return x.to(ScalarType.Float32).MoveToOuterDisposeScope();
        }

        foreach (var batch in batches)
        {
            using var input = torch.randn(batch, 3, 224, 224).to(dtype);
            var seconds = Median(iterations, () =>
    {
        using var inference = torch.inference_mode();
        using var output = Forward(input);
        return output.shape[0];
    });
            Emit(new()
            {
                ["peer"] = engine == "functional" ? "torchsharp-functional" : "torchsharp-" + engine,
                ["version"] = "TorchSharp " + typeof(torch).Assembly.GetName().Version?.ToString(3),
                ["precision"] = precisionName,
                ["batch"] = batch,
                ["threads"] = torch.get_num_threads(),
                ["seconds_per_batch"] = seconds,
                ["cpu_seconds_per_batch"] = LastCpuSeconds,
                ["images_per_second"] = batch / seconds,
            });
        }

        foreach (var (w, b) in convs.Append(fc1).Append(fc2))
        {
            w.Dispose();
            b.Dispose();
        }
    }

    private static void Gemm(int n, int iterations, int threads)
    {
        torch.set_num_threads(threads);
        foreach (var (dtype, name) in new[] { (ScalarType.Float32, "fp32"), (ScalarType.BFloat16, "bf16") })
        {
            torch.manual_seed(0);
            using var a = torch.randn(n, n).to(dtype);
            using var b = torch.randn(n, n).to(dtype);
            var seconds = Median(iterations, () =>
            {
                using var inference = torch.inference_mode();
                using var c = torch.matmul(a, b);
                return c.shape[0];
            });
            Emit(new()
            {
                ["probe"] = "gemm",
                ["library"] = "TorchSharp " + typeof(torch).Assembly.GetName().Version?.ToString(3) + " (libtorch)",
                ["precision"] = name,
                ["size"] = n,
                ["threads"] = torch.get_num_threads(),
                ["gflops"] = 2.0 * n * n * n / seconds / 1e9,
            });
        }
    }

    private static async Task SearchAsync(int count, VectorPrecision precision, int iterations)
    {
        var bench = new SearchBenchmarks { Count = count, Precision = precision };
        await bench.SetupAsync().ConfigureAwait(false);
        try
        {
            var bytes = (double)count * BenchmarkData.Dimension * (precision == VectorPrecision.Half ? 2 : 4);
            var stream = Median(iterations, () => (long)bench.StreamOnce());
            var single = Median(iterations, () => bench.SearchOne().GetAwaiter().GetResult());
            var batch = Median(Math.Max(3, iterations / 2), () => bench.SearchBatch32().GetAwaiter().GetResult()) / 32;
            var name = precision == VectorPrecision.Half ? "half" : "fp32";
            Emit(new() { ["peer"] = "imagesimilarity", ["search"] = "stream", ["count"] = count, ["precision"] = name, ["ms"] = stream * 1e3, ["gb_per_s"] = bytes / stream / 1e9 });
            Emit(new() { ["peer"] = "imagesimilarity", ["search"] = "single", ["count"] = count, ["precision"] = name, ["ms"] = single * 1e3 });
            Emit(new() { ["peer"] = "imagesimilarity", ["search"] = "batch32", ["count"] = count, ["precision"] = name, ["ms"] = batch * 1e3 });
        }
        finally
        {
            await bench.CleanupAsync().ConfigureAwait(false);
        }
    }

    internal static ComputePrecision ParsePrecision(string name) => name switch
    {
        "fp32" => ComputePrecision.Float32,
        "bf16" => ComputePrecision.BFloat16,
        _ => throw new ArgumentException($"Unknown precision '{name}' (use fp32 or bf16).", nameof(name)),
    };

    internal static string Option(string[] args, string name, string fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    internal static double Median<T>(int n, Func<T> run)
    {
        var (seconds, cpu) = MedianTimer.Measure(n, () => run());
        LastCpuSeconds = cpu;
        return seconds;
    }

    private static async Task<double> MedianAsync(int n, Func<Task<int>> run)
    {
        var (seconds, cpu) = await MedianTimer.MeasureAsync(n, run).ConfigureAwait(false);
        LastCpuSeconds = cpu;
        return seconds;
    }

    private static void Emit(Dictionary<string, object> line) => Console.WriteLine(JsonSerializer.Serialize(line));
}
