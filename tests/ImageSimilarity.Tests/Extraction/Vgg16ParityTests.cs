using System.Numerics.Tensors;
using ImageSimilarity.Imaging;
using Xunit.Abstractions;

namespace ImageSimilarity.Extraction;

/// <summary>
/// The extractor against the real torchvision VGG16 (seeded random weights written by the real torch.save):
/// same input tensor -> same features; image files -> same features through the torchvision preset.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class Vgg16ParityTests
{
    private readonly Vgg16ReferenceFixture _reference;
    private readonly ITestOutputHelper _output;

    public Vgg16ParityTests(Vgg16ReferenceFixture reference, ITestOutputHelper output)
    {
        _reference = reference;
        _output = output;
    }

    [SkippableTheory]
    [InlineData("vgg16_legacy.pth")]
    [InlineData("vgg16_zip.pth")]
    [InlineData("vgg16_timm.safetensors")]
    public async Task Extract_FromFileWrittenByTorch_MatchesTorchvision(string file)
    {
        var data = _reference.Data;
        using var extractor = Vgg16FeatureExtractor.Load(data.File(file));
        _output.WriteLine($"{file}: loaded in {extractor.LoadTime.TotalMilliseconds:F0} ms, model id {extractor.ModelId}");
        Assert.StartsWith("vgg16-fc2/weights-", extractor.ModelId, StringComparison.Ordinal);
        Assert.EndsWith("/torchvision", extractor.ModelId, StringComparison.Ordinal);
        Assert.Equal(4096, extractor.Dimension);

        // (a) the same input tensor gives the same features.
        var inputs = data.Inputs.Select((x, i) => new PreprocessedImage($"input{i}", x, 3, 224, 224)).ToList();
        var features = await extractor.ExtractPreprocessedAsync(inputs);
        Assert.Equal(data.Features.Length, features.Count);
        double worst = 0;
        for (var i = 0; i < features.Count; i++)
        {
            var error = MaxRelativeError(features[i], data.Features[i]);
            worst = Math.Max(worst, error);
            Assert.True(error <= 1e-4, $"input {i}: max relative error {error:E2}");
        }

        _output.WriteLine($"{file}: tensor parity max relative error {worst:E2}");

        // (b) end to end from the image files with the torchvision preset.
        var images = data.Images.Select(ImageInput.FromFile).ToList();
        var fromFiles = await extractor.ExtractAsync(images);
        for (var i = 0; i < images.Count; i++)
        {
            var cosine = TensorPrimitives.CosineSimilarity(fromFiles[i], data.Features[i]);
            _output.WriteLine($"{file}: {Path.GetFileName(data.Images[i])} cosine {cosine:F7}");
            Assert.True(cosine >= 0.999f, $"{data.Images[i]}: cosine {cosine}");
        }
    }

    [SkippableFact]
    public async Task ModelId_SameWeightsInEveryFormatAndPrecision_IsTheSame()
    {
        var data = _reference.Data;
        var ids = new List<string>();
        foreach (var file in new[] { "vgg16_legacy.pth", "vgg16_timm.safetensors" })
        {
            using var e = Vgg16FeatureExtractor.Load(data.File(file), new Vgg16ExtractorOptions { Precision = ComputePrecision.BFloat16 });
            ids.Add(e.ModelId);
        }

        using var keras = Vgg16FeatureExtractor.Load(data.File("vgg16_zip.pth"), new Vgg16ExtractorOptions { Preset = PreprocessingPreset.KerasCaffe });
        Assert.Equal(ids[0], ids[1]);
        Assert.Equal(ids[0].Replace("/torchvision", "/keras-caffe", StringComparison.Ordinal), keras.ModelId);
        await Task.CompletedTask;
    }

    [SkippableFact]
    public async Task Extract_BFloat16_IsCloseToFloat32AndSafeFromSeveralThreads()
    {
        var data = _reference.Data;
        var inputs = data.Inputs.Select((x, i) => new PreprocessedImage($"input{i}", x, 3, 224, 224)).ToList();
        using var extractor = Vgg16FeatureExtractor.Load(data.File("vgg16_legacy.pth"), new Vgg16ExtractorOptions { Precision = ComputePrecision.BFloat16, BatchSize = 2 });

        // Two callers at once: calls are serialised on the one model and each gets its own, correct, results.
        var a = extractor.ExtractPreprocessedAsync(inputs);
        var b = extractor.ExtractPreprocessedAsync(inputs.AsEnumerable().Reverse().ToList());
        var (ra, rb) = (await a, await b);
        for (var i = 0; i < inputs.Count; i++)
        {
            var cosine = TensorPrimitives.CosineSimilarity(ra[i], data.Features[i]);
            _output.WriteLine($"bf16 vs fp32 reference, input {i}: cosine {cosine:F5}");
            Assert.True(cosine >= 0.98f, $"input {i}: bf16 cosine {cosine}");

            // Different batch groupings may pick different bf16 kernels: the same image, not necessarily the same bits.
            Assert.True(TensorPrimitives.CosineSimilarity(ra[i], rb[inputs.Count - 1 - i]) >= 0.9999f);
        }
    }

    [SkippableFact]
    public async Task Extract_Cancelled_Throws()
    {
        var data = _reference.Data;
        using var extractor = Vgg16FeatureExtractor.Load(data.File("vgg16_zip.pth"));
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        var inputs = data.Inputs.Select((x, i) => new PreprocessedImage($"input{i}", x, 3, 224, 224)).ToList();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => extractor.ExtractPreprocessedAsync(inputs, cts.Token));
        await Assert.ThrowsAsync<ArgumentException>(() => extractor.ExtractPreprocessedAsync([new PreprocessedImage("small", new float[3 * 4], 3, 2, 2)]));
        extractor.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => extractor.ExtractPreprocessedAsync(inputs));
    }

    /// <summary>max |actual - expected| / max |expected|: relative to the vector's scale (ReLU outputs are often 0).</summary>
    private static double MaxRelativeError(float[] actual, float[] expected)
    {
        double maxDiff = 0, maxRef = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs((double)actual[i] - expected[i]));
            maxRef = Math.Max(maxRef, Math.Abs((double)expected[i]));
        }

        return maxDiff / maxRef;
    }
}
