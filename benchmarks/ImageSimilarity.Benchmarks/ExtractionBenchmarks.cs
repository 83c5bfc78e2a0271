using BenchmarkDotNet.Attributes;
using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;

namespace ImageSimilarity.Benchmarks;

/// <summary>
/// VGG16 fc2 features of preprocessed images (the network alone, no decoding), per batch size and precision, with
/// random weights (<see cref="BenchmarkWeights.ForExtraction"/>: <c>$IMAGESIMILARITY_BENCH_WEIGHTS</c> or a generated file).
/// Reported per image.
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory("Extraction")]
public class ExtractionBenchmarks
{
    private Vgg16FeatureExtractor _extractor = null!;
    private PreprocessedImage[] _images = null!;

    [Params(1, 8, 16)]
    public int Batch { get; set; }

    [Params(ComputePrecision.Float32, ComputePrecision.BFloat16)]
    public ComputePrecision Precision { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _extractor = BenchmarkWeights.Load(BenchmarkWeights.ForExtraction(), Precision, Batch);
        _images = BenchmarkWeights.RandomImages(Batch, seed: 11);
    }

    [GlobalCleanup]
    public void Cleanup() => _extractor.Dispose();

    [Benchmark(Description = "extract fc2 features (per batch)")]
    public async Task<int> Extract() => (await _extractor.ExtractPreprocessedAsync(_images).ConfigureAwait(false)).Count;
}
