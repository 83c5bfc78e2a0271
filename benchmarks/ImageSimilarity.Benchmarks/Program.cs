using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

// Runs the benchmarks chosen on the command line (see docs/storage.md), for example:
//   dotnet run -c Release --project benchmarks/ImageSimilarity.Benchmarks -- --filter '*Search*'
// The default job is short (the machine is shared): 1 warm-up, 5 iterations, in process (no per-benchmark rebuild).
if (args is ["--quick", ..])
{
    return await ImageSimilarity.Benchmarks.QuickCheck.RunAsync(args);
}

if (args is ["--kernels", ..])
{
    // Where a scan's time goes: each kernel with the rows in cache and in memory, one thread (see docs/storage.md).
    return ImageSimilarity.Benchmarks.KernelProbe.Run(args);
}

if (args is ["--recall", _, ..])
{
    // Recall@10 of each storage precision against exact fp32 on real feature vectors (see docs/storage.md).
    return await ImageSimilarity.Benchmarks.PrecisionRecall.RunAsync(args);
}

if (args is ["--twostage", _, ..])
{
    // Recall@10 and latency of the two-stage search against exact fp32, per candidate count (see docs/storage.md).
    return await ImageSimilarity.Benchmarks.TwoStageRecall.RunAsync(args);
}

if (args is ["--twostage-build", _, _, _, ..])
{
    // Writes the first rows of a raw float32 file into an index file for --twostage-index (see docs/storage.md).
    return await ImageSimilarity.Benchmarks.TwoStageIndex.BuildAsync(args);
}

if (args is ["--twostage-reference", _, _, _, _])
{
    // The exact fp32 top 10 of each query over a raw float32 file, in chunks, with libtorch's GEMM.
    return ImageSimilarity.Benchmarks.TwoStageReference.Run(args);
}

if (args is ["--twostage-codes", _])
{
    return await ImageSimilarity.Benchmarks.TwoStageIndex.CodesAsync(args);
}

if (args is ["--twostage-index", _, _, _, ..])
{
    // Two-stage search on a prebuilt index file against an exact fp32 reference: recall, latency, memory.
    return await ImageSimilarity.Benchmarks.TwoStageIndex.RunAsync(args);
}

if (args is ["--storage", ..])
{
    // The SQLite index against the old single-file store, interleaved (see docs/storage.md).
    return await ImageSimilarity.Benchmarks.StorageComparison.RunAsync(args);
}

if (args.Length > 0 && args[0].StartsWith("--peer-", StringComparison.Ordinal))
{
    // The library's side of benchmarks/peers/run.sh (JSON lines, measured like the Python and ONNX Runtime peers).
    return await ImageSimilarity.Benchmarks.PeerHarness.RunAsync(args);
}

// IMAGESIMILARITY_BENCH_ITERATIONS changes the iteration count; median and min columns resist noise from other processes.
var iterations = int.TryParse(Environment.GetEnvironmentVariable("IMAGESIMILARITY_BENCH_ITERATIONS"), out var n) && n > 0 ? n : 5;
var config = DefaultConfig.Instance
    .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(1).WithIterationCount(iterations).WithLaunchCount(1).AsDefault())
    .AddColumn(StatisticColumn.Median, StatisticColumn.Min)
    .WithOptions(ConfigOptions.JoinSummary);
var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);

// A failed benchmark (an exception in setup or in the benchmark) must fail the run, so CI notices.
var failed = summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success));
return failed ? 1 : 0;
