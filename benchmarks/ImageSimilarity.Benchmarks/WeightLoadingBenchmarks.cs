using BenchmarkDotNet.Attributes;
using ImageSimilarity.Extraction;

namespace ImageSimilarity.Benchmarks;

/// <summary>
/// Loading the 528 MB of VGG16 weights (up to fc2) into the network, from the three file formats the real
/// <c>torch.save</c> and safetensors write (<see cref="BenchmarkWeights.ForLoading"/>). The file is in the page cache
/// after the first iteration, so this measures parsing and copying, not the disk.
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory("WeightLoading")]
public class WeightLoadingBenchmarks
{
    private string _path = null!;

    [Params("vgg16_legacy.pth", "vgg16_zip.pth", "vgg16_timm.safetensors")]
    public string File { get; set; } = "vgg16_legacy.pth";

    [Params(ComputePrecision.Float32, ComputePrecision.BFloat16)]
    public ComputePrecision Precision { get; set; }

    [GlobalSetup]
    public void Setup() => _path = Path.Combine(BenchmarkWeights.ForLoading(), File);

    [Benchmark(Description = "Vgg16FeatureExtractor.Load")]
    public double Load()
    {
        using var extractor = BenchmarkWeights.Load(_path, Precision, batchSize: 8);
        return extractor.LoadTime.TotalSeconds;
    }
}
