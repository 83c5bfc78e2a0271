using System.Numerics.Tensors;
using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;
using ImageSimilarity.TestSupport;
using Xunit.Abstractions;

namespace ImageSimilarity.OnnxRuntime;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class Vgg16OnnxCollection : ICollectionFixture<Vgg16ReferenceFixture>
{
    public const string Name = "Vgg16Onnx";
}

/// <summary>
/// VGG16 built in C# and run by ONNX Runtime against the TorchSharp extractor (fp32) and torchvision, on the random-weight
/// files the real PyTorch wrote in every supported format.
/// </summary>
[Collection(Vgg16OnnxCollection.Name)]
public sealed class Vgg16OnnxParityTests(Vgg16ReferenceFixture fixture, ITestOutputHelper output)
{
    [SkippableTheory]
    [InlineData("vgg16_zip.pth")]
    [InlineData("vgg16_legacy.pth")]
    [InlineData("vgg16_timm.safetensors")]
    public async Task Load_EveryWeightsFormat_MatchesTorchSharpAndTorchvision(string file)
    {
        var data = fixture.Data;
        var inputs = data.Inputs.Select((x, i) => new PreprocessedImage($"input{i}", x, 3, 224, 224)).ToList();
        IReadOnlyList<float[]> ours, torchSharp;
        string onnxId, torchId;
        using (var onnx = Vgg16OnnxModel.Load(data.File(file), new Vgg16ExtractorOptions { BatchSize = 4 }))
        {
            ours = await onnx.ExtractPreprocessedAsync(inputs);
            onnxId = onnx.ModelId;
        }

        using (var torch = Vgg16FeatureExtractor.Load(data.File(file)))
        {
            torchSharp = await torch.ExtractPreprocessedAsync(inputs);
            torchId = torch.ModelId;
        }

        Assert.Equal(torchId, onnxId);
        double worstTorchSharp = 1, worstTorchvision = 1;
        for (var i = 0; i < inputs.Count; i++)
        {
            Assert.Equal(4096, ours[i].Length);
            Assert.True(ours[i].Any(v => v > 0), "all-zero features");
            worstTorchSharp = Math.Min(worstTorchSharp, TensorPrimitives.CosineSimilarity(ours[i], torchSharp[i]));
            worstTorchvision = Math.Min(worstTorchvision, TensorPrimitives.CosineSimilarity(ours[i], data.Features[i]));
        }

        output.WriteLine($"{file}: {inputs.Count} inputs, worst cosine vs TorchSharp fp32 {worstTorchSharp:F7}, vs torchvision {worstTorchvision:F7}");
        Assert.True(worstTorchSharp >= 0.9999, $"cosine vs TorchSharp {worstTorchSharp}");
        Assert.True(worstTorchvision >= 0.9999, $"cosine vs torchvision {worstTorchvision}");
    }

    [SkippableFact]
    public async Task ExtractAsync_SeedSample_MatchesTorchSharpFp32()
    {
        var data = fixture.Data;
        var images = SeedImages.Files.Select(ImageInput.FromFile).ToList();
        IReadOnlyList<float[]> ours, torchSharp;
        using (var onnx = Vgg16OnnxModel.Load(data.File("vgg16_zip.pth")))
        {
            ours = await onnx.ExtractAsync(images);
        }

        using (var torch = Vgg16FeatureExtractor.Load(data.File("vgg16_zip.pth")))
        {
            torchSharp = await torch.ExtractAsync(images);
        }

        var worst = Enumerable.Range(0, images.Count).Min(i => (double)TensorPrimitives.CosineSimilarity(ours[i], torchSharp[i]));
        output.WriteLine($"{images.Count} seed images, random-weight VGG16: worst cosine ONNX Runtime vs TorchSharp fp32 {worst:F7}");
        Assert.True(worst >= 0.9999, $"worst cosine {worst}");
    }

    [SkippableFact]
    public void Load_Bf16_RefusedWithReason()
    {
        var data = fixture.Data;
        var ex = Assert.Throws<ArgumentException>(() => Vgg16OnnxModel.Load(data.File("vgg16_zip.pth"), new Vgg16ExtractorOptions { Precision = ComputePrecision.BFloat16 }));
        Assert.Equal("options", ex.ParamName);
        Assert.Contains("fp32 only", ex.Message, StringComparison.Ordinal);
    }
}

/// <summary>Keras .h5 weights (HWIO kernels, fc1 on the H, W, C flattening) on the ONNX Runtime engine.</summary>
[Collection(Vgg16OnnxCollection.Name)]
public sealed class Vgg16OnnxKerasTests(Vgg16ReferenceFixture torch, KerasReferenceFixture keras, ITestOutputHelper output) : IClassFixture<KerasReferenceFixture>
{
    [SkippableTheory]
    [InlineData("vgg16_keras.h5")]
    [InlineData("vgg16_keras_model.h5")]
    public async Task Load_KerasFileOfTheTorchWeights_SameFeaturesAsTheTorchFile(string file)
    {
        var inputs = torch.Data.Inputs.Take(2).Select((x, i) => new PreprocessedImage($"input{i}", x, 3, 224, 224)).ToList();
        IReadOnlyList<float[]> fromKeras, fromTorch;
        using (var model = Vgg16OnnxModel.Load(keras.Data.File(file), new Vgg16ExtractorOptions { Preset = PreprocessingPreset.Torchvision }))
        {
            fromKeras = await model.ExtractPreprocessedAsync(inputs);
        }

        using (var model = Vgg16OnnxModel.Load(torch.Data.File("vgg16_zip.pth")))
        {
            fromTorch = await model.ExtractPreprocessedAsync(inputs);
        }

        var worst = Enumerable.Range(0, inputs.Count).Min(i => (double)TensorPrimitives.CosineSimilarity(fromKeras[i], fromTorch[i]));
        output.WriteLine($"{file} on ONNX Runtime vs the same weights from the .pth: worst cosine {worst:F7}");
        Assert.True(worst >= 0.9999, $"worst cosine {worst}");
    }
}
