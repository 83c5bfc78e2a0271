using BenchmarkDotNet.Attributes;
using ImageSimilarity.Imaging;

namespace ImageSimilarity.Benchmarks;

/// <summary>
/// Decoding a JPEG and turning it into the 3x224x224 network input, per preset, for a 320x240 thumbnail, a 1024x768
/// web photo and a 4000x3000 (12-megapixel) camera photo. The baseline is decoding alone.
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory("Preprocessing")]
public class PreprocessingBenchmarks
{
    private byte[] _jpeg = null!;
    private ImagePreprocessor _preprocessor = null!;

    [Params("small", "typical", "12MP")]
    public string Size { get; set; } = "small";

    [Params(PreprocessingPreset.Torchvision, PreprocessingPreset.KerasCaffe)]
    public PreprocessingPreset Preset { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _jpeg = BenchmarkImages.Jpeg(Size);
        _preprocessor = new ImagePreprocessor(Preset);
    }

    [Benchmark(Baseline = true, Description = "decode JPEG to RGB")]
    public int Decode() => ImageDecoder.Decode(_jpeg, "bench.jpeg", _preprocessor.DecoderOptions).Width;

    [Benchmark(Description = "decode + preprocess to 3x224x224")]
    public int DecodeAndPreprocess() => _preprocessor.Preprocess(ImageInput.FromBytes(_jpeg, "bench.jpeg")).Data.Length;
}
