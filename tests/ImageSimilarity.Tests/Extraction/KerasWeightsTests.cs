using System.Numerics.Tensors;
using ImageSimilarity.Extraction.Weights;
using ImageSimilarity.Imaging;
using ImageSimilarity.TestSupport;
using Xunit.Abstractions;

namespace ImageSimilarity.Extraction;

/// <summary>
/// Keras HDF5 weights written by Debian's h5py, against a reference computed with Keras semantics straight from the
/// Keras-layout arrays (numpy, NHWC, HWIO kernels, fc1 on the H, W, C flattening): an axis mistake in the C# layout
/// transform cannot be cancelled by the same mistake in the reference.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class KerasWeightsTests : IClassFixture<KerasReferenceFixture>
{
    private readonly KerasReferenceFixture _keras;
    private readonly Vgg16ReferenceFixture _torch;
    private readonly ITestOutputHelper _output;

    public KerasWeightsTests(KerasReferenceFixture keras, Vgg16ReferenceFixture torch, ITestOutputHelper output)
    {
        _keras = keras;
        _torch = torch;
        _output = output;
    }

    [SkippableTheory]
    [InlineData("vgg16_keras.h5")]
    [InlineData("vgg16_keras_model.h5")]
    public async Task Extract_FromKerasH5_MatchesKerasSemanticsReference(string file)
    {
        var data = _keras.Data;
        using var extractor = Vgg16FeatureExtractor.Load(data.File(file));
        _output.WriteLine($"{file}: loaded in {extractor.LoadTime.TotalMilliseconds:F0} ms, model id {extractor.ModelId}");

        // Keras weights default to the keras-caffe preset, and the id says they are Keras weights.
        Assert.Equal(PreprocessingPreset.KerasCaffe, extractor.Preprocessor.Preset);
        Assert.Matches("^vgg16-fc2/keras-[0-9a-f]{8}/keras-caffe$", extractor.ModelId);

        // (a) identical input tensors.
        var inputs = data.Inputs.Select((x, i) => new PreprocessedImage($"input{i}", x, 3, 224, 224)).ToList();
        var features = await extractor.ExtractPreprocessedAsync(inputs);
        double worst = 0;
        for (var i = 0; i < features.Count; i++)
        {
            var error = MaxRelativeError(features[i], data.Features[i]);
            worst = Math.Max(worst, error);
            Assert.True(error <= 1e-4, $"input {i}: max relative error {error:E2}");
        }

        _output.WriteLine($"{file}: identical inputs ({features.Count}), max relative error {worst:E2}");

        // (b) from the image files through the keras-caffe preset (reference: Pillow load_img, NEAREST).
        var fromFiles = await extractor.ExtractAsync(data.Images.Select(ImageInput.FromFile).ToList());
        float lowest = 1;
        for (var i = 0; i < data.Images.Length; i++)
        {
            var cosine = TensorPrimitives.CosineSimilarity(fromFiles[i], data.Features[i]);
            lowest = Math.Min(lowest, cosine);
            _output.WriteLine($"{file}: {Path.GetFileName(data.Images[i])} cosine {cosine:F7}");
            Assert.True(cosine >= 0.999f, $"{data.Images[i]}: cosine {cosine}");
        }

        _output.WriteLine($"{file}: from image files ({data.Images.Length}), lowest cosine {lowest:F7}");
    }

    [SkippableFact]
    public void Load_KerasFileOfTheTorchWeights_HoldsIdenticalValuesAndFingerprint()
    {
        var keras = _keras.Data;
        var torch = _torch.Data;
        using var fromKeras = WeightsFileReader.Open(keras.File("vgg16_keras.h5"));
        using var fromTorch = WeightsFileReader.Open(torch.File("vgg16_zip.pth"));
        Assert.Equal(KerasWeightsReader.FormatName, fromKeras.Format);
        var kerasPlan = Vgg16StateDictMapper.Plan(fromKeras);
        var torchPlan = Vgg16StateDictMapper.Plan(fromTorch);
        Assert.Equal(30, kerasPlan.Count);

        // Transposed kernels and fc1's reordered rows: every value lands exactly where torchvision has it.
        foreach (var (name, _) in Vgg16Network.ExpectedParameters)
        {
            var a = Vgg16StateDictMapper.ReadAsFloat32(kerasPlan[name]);
            var b = Vgg16StateDictMapper.ReadAsFloat32(torchPlan[name]);
            Assert.True(a.AsSpan().SequenceEqual(b), $"{name} differs between the Keras .h5 and the torch .pth");
        }

        Assert.Equal(Vgg16StateDictMapper.Fingerprint(torchPlan), Vgg16StateDictMapper.Fingerprint(kerasPlan));
    }

    [SkippableFact]
    public void ModelId_KerasAndTorchFilesOfTheSameWeights_ShareTheFingerprintButNotTheFamily()
    {
        using var keras = Vgg16FeatureExtractor.Load(_keras.Data.File("vgg16_keras_model.h5"), new Vgg16ExtractorOptions { Preset = PreprocessingPreset.Torchvision });
        using var torch = Vgg16FeatureExtractor.Load(_torch.Data.File("vgg16_legacy.pth"));
        Assert.Equal(PreprocessingPreset.Torchvision, keras.Preprocessor.Preset);
        Assert.Equal(torch.WeightsId.Replace("weights-", "keras-", StringComparison.Ordinal), keras.WeightsId);
        Assert.EndsWith("/torchvision", keras.ModelId, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Load_NoTopFile_SaysWhichFileIsNeededAndWhereKerasKeepsIt()
    {
        var path = Path.Combine(_keras.BrokenFolder, "notop.h5");
        var ex = Assert.Throws<WeightsFileException>(() => Vgg16FeatureExtractor.Load(path));
        _output.WriteLine(ex.Message);
        Assert.Equal(path, ex.FilePath);
        Assert.Contains("'fc1' and 'fc2'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("notop", ex.Message, StringComparison.Ordinal);
        Assert.Contains(Vgg16Weights.KerasFileName + " (553,467,096 bytes)", ex.Message, StringComparison.Ordinal);
        Assert.Contains(Vgg16Weights.KerasCacheDirectory, ex.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Load_MissingLayer_NamesItAndListsTheLayersPresent()
    {
        var path = Path.Combine(_keras.BrokenFolder, "missing_layer.h5");
        var ex = Assert.Throws<WeightsFileException>(() => Vgg16FeatureExtractor.Load(path));
        _output.WriteLine(ex.Message);
        Assert.Equal(2, ex.Problems.Count);
        Assert.StartsWith("missing layer 'block3_conv2'", ex.Problems[0], StringComparison.Ordinal);
        Assert.Contains("block3_conv1, block3_conv3", ex.Problems[1], StringComparison.Ordinal);
        Assert.Contains("predictions", ex.Problems[1], StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Load_WrongShapes_NamesEveryLayerWithShapes()
    {
        var path = Path.Combine(_keras.BrokenFolder, "wrong_shape.h5");
        var ex = Assert.Throws<WeightsFileException>(() => Vgg16FeatureExtractor.Load(path));
        _output.WriteLine(ex.Message);
        Assert.Equal(
            [
                "layer 'block1_conv1': the kernel has shape [64, 3, 3, 3], expected [3, 3, 3, 64] (Keras' (height, width, in, out) order)",
                "layer 'fc2': the kernel has shape [4096, 1000], expected [4096, 4096]",
                "layer 'fc2': the bias has shape [1000], expected [4096]",
            ],
            ex.Problems);
    }

    [SkippableFact]
    public void Load_HdfFileWithoutKerasWeights_SaysSoAndWhatItHolds()
    {
        var path = Path.Combine(_keras.BrokenFolder, "not_keras.h5");
        var ex = Assert.Throws<WeightsFileException>(() => Vgg16FeatureExtractor.Load(path));
        _output.WriteLine(ex.Message);
        Assert.Contains("holds no Keras weights", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'layer_names'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("measurements", ex.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Load_TruncatedKerasFile_ThrowsWeightsFileException()
    {
        var data = _keras.Data;
        using var dir = TestPaths.CreateTempDirectory("imgsim-keras-truncated");
        var path = dir.Combine("truncated.h5");
        using (var source = File.OpenRead(data.File("vgg16_keras.h5")))
        using (var target = File.Create(path))
        {
            var buffer = new byte[1 << 20];
            for (var i = 0; i < 60; i++)
            {
                var n = source.Read(buffer);
                target.Write(buffer, 0, n);
            }
        }

        var ex = Assert.Throws<WeightsFileException>(() => Vgg16FeatureExtractor.Load(path));
        _output.WriteLine(ex.Message);
        Assert.Equal(path, ex.FilePath);
    }

    [Theory]
    [InlineData(new long[] { 3, 3, 5, 7 }, new long[] { 3, 2, 0, 1 })]
    [InlineData(new long[] { 7, 7, 33, 19 }, new long[] { 3, 2, 0, 1 })]
    [InlineData(new long[] { 1, 1, 1, 40 }, new long[] { 3, 2, 0, 1 })]
    [InlineData(new long[] { 6, 11 }, new long[] { 1, 0 })]
    [InlineData(new long[] { 37, 3 }, new long[] { 1, 0 })]
    public unsafe void ReverseAxes_OddShapes_EqualsTorchPermute(long[] shape, long[] permutation)
    {
        var transform = new WeightLayoutTransform(shape, permutation);
        Assert.True(transform.IsAxisReversal(out var p, out var q, out var o));
        var count = shape.Aggregate(1L, (a, b) => a * b);
        using var source = TorchSharp.torch.arange(count, TorchSharp.torch.ScalarType.Float32).reshape(shape);
        using var expected = source.permute(permutation).contiguous();
        var src = source.data<float>().ToArray();
        var dst = new float[count];
        fixed (float* s = src)
        fixed (float* d = dst)
        {
            WeightLayoutTransform.ReverseAxes(s, d, p, q, o);
        }

        Assert.Equal(expected.data<float>().ToArray(), dst);
        Assert.False(new WeightLayoutTransform([2, 3, 4], [2, 1, 0]).IsAxisReversal(out _, out _, out _));
    }

    [Fact]
    public void FindInKerasCache_KerasFilePresent_IsFoundUnlessTorchvisionsIsCached()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var kerasDir = dir.Combine("keras", "models");
        var ownCache = dir.Combine("cache");
        Directory.CreateDirectory(kerasDir);
        var download = new WeightsDownloadOptions { CacheDirectory = ownCache, AllowDownload = false };
        Assert.Null(Vgg16Weights.FindInKerasCache(download, kerasDir));

        File.WriteAllBytes(Path.Combine(kerasDir, Vgg16Weights.KerasNoTopFileName), [1]);
        Assert.Null(Vgg16Weights.FindInKerasCache(download, kerasDir));

        var keras = Path.Combine(kerasDir, Vgg16Weights.KerasFileName);
        File.WriteAllBytes(keras, [1]);
        Assert.Equal(keras, Vgg16Weights.FindInKerasCache(download, kerasDir));

        Directory.CreateDirectory(ownCache);
        File.WriteAllBytes(download.CachedFilePath, [1]);
        Assert.Null(Vgg16Weights.FindInKerasCache(download, kerasDir));
    }

    [Fact]
    public void KerasCacheDirectory_IsKerasHomeModelsElseDotKeras()
    {
        var saved = Environment.GetEnvironmentVariable("KERAS_HOME");
        try
        {
            Environment.SetEnvironmentVariable("KERAS_HOME", "/opt/keras-home");
            Assert.Equal(Path.Combine("/opt/keras-home", "models"), Vgg16Weights.KerasCacheDirectory);
            Environment.SetEnvironmentVariable("KERAS_HOME", null);
            Assert.Equal(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".keras", "models"), Vgg16Weights.KerasCacheDirectory);
        }
        finally
        {
            Environment.SetEnvironmentVariable("KERAS_HOME", saved);
        }
    }

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
