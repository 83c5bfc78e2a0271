using System.Numerics.Tensors;
using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;
using ImageSimilarity.TestSupport;
using Xunit.Abstractions;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>
/// int8 VGG16 (QDQ graph built in C#, weights per channel, activations calibrated on 8 seed images) against fp32 on ONNX
/// Runtime, on the random-weight file the real PyTorch wrote and the 88 seed images.
/// </summary>
[Collection(Vgg16OnnxCollection.Name)]
public sealed class Vgg16Int8Tests(Vgg16ReferenceFixture fixture, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task LoadInt8Async_SeedSample_CloseToFp32WithTheSameNeighbours()
    {
        var weights = fixture.Data.File("vgg16_zip.pth");
        var images = SeedImages.Files.Select(ImageInput.FromFile).ToList();
        IReadOnlyList<float[]> fp32, int8;
        string fp32Id, int8Id;
        using (var model = Vgg16OnnxModel.Load(weights))
        {
            fp32 = await model.ExtractAsync(images);
            fp32Id = model.ModelId;
        }

        using (var model = await Vgg16OnnxModel.LoadInt8Async(weights, images.Take(8).ToList()))
        {
            int8 = await model.ExtractAsync(images);
            int8Id = model.ModelId;
        }

        Assert.Equal(fp32Id, int8Id);
        var cosines = fp32.Select((v, i) => (double)TensorPrimitives.CosineSimilarity(v, int8[i])).ToArray();
        var same = 0;
        for (var q = 0; q < images.Count; q++)
        {
            same += Top5(fp32, q).Intersect(Top5(int8, q)).Count();
        }

        var overlap = same / (5.0 * images.Count);
        output.WriteLine($"int8 vs fp32 on {images.Count} seed images (random weights): cosine min {cosines.Min():F5}, median {cosines.Order().ElementAt(cosines.Length / 2):F5}; top-5 neighbours the same: {overlap:P1}");
        Assert.True(cosines.Min() >= 0.99, $"worst cosine {cosines.Min()}");
        Assert.True(overlap >= 0.90, $"top-5 overlap {overlap}");
    }

    [Fact]
    public async Task LoadInt8Async_NoCalibrationImages_Throws()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Vgg16OnnxModel.LoadInt8Async("weights.pth", []));
        Assert.Equal("calibrationImages", ex.ParamName);
    }

    private static int[] Top5(IReadOnlyList<float[]> vectors, int query) => Enumerable.Range(0, vectors.Count)
        .Where(i => i != query)
        .OrderByDescending(i => TensorPrimitives.CosineSimilarity(vectors[query], vectors[i]))
        .Take(5)
        .ToArray();
}
