using ImageSimilarity.TestSupport;

namespace ImageSimilarity.OnnxRuntime;

public sealed class ResNet18ModelTests
{
    [Fact]
    public void FindModelDirectory_OutputFolder_HasThePackageFiles()
    {
        // The package's build props copied the files beside the test assembly; nothing is downloaded.
        var directory = ResNet18Model.FindModelDirectory(Path.Combine(AppContext.BaseDirectory, "DnnImageModels"));
        Assert.True(new FileInfo(Path.Combine(directory, ResNet18Model.ModelFile)).Length > 60_000_000);
    }

    [Fact]
    public void Load_MissingNetworkFile_ThrowsSayingWhatToInstall()
    {
        using var temp = TestPaths.CreateTempDirectory("resnet18-missing");
        var source = ResNet18Model.FindModelDirectory(Path.Combine(AppContext.BaseDirectory, "DnnImageModels"));
        Directory.CreateDirectory(temp.Combine("ResNetPrepOnnx"));
        File.Copy(Path.Combine(source, ResNet18Model.PreprocessFile), temp.Combine("ResNetPrepOnnx", "ResNetPreprocess.onnx"));
        var ex = Assert.Throws<OnnxModelException>(() => ResNet18Model.Load(modelDirectory: temp.Path));
        Assert.Contains("missing ResNet18Onnx/ResNet18.onnx", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1", ex.Message, StringComparison.Ordinal);
        Assert.Contains(ResNet18Model.DirectoryVariable, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FindModelDirectory_NoSuchFolder_SaysSo()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-resnet-" + Guid.NewGuid().ToString("N"));
        var ex = Assert.Throws<OnnxModelException>(() => ResNet18Model.FindModelDirectory(missing));
        Assert.Contains($"'{missing}' (no such folder)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateSpec_WrongPreprocessGraph_Throws()
    {
        using var temp = TestPaths.CreateTempDirectory("resnet18-bad-prep");
        var source = ResNet18Model.FindModelDirectory(Path.Combine(AppContext.BaseDirectory, "DnnImageModels"));
        Directory.CreateDirectory(temp.Combine("ResNet18Onnx"));
        Directory.CreateDirectory(temp.Combine("ResNetPrepOnnx"));
        File.Copy(Path.Combine(source, ResNet18Model.ModelFile), temp.Combine("ResNet18Onnx", "ResNet18.onnx"));
        TinyModels.WriteChannelMeans(temp.Combine("ResNetPrepOnnx", "ResNetPreprocess.onnx"), 224);
        var ex = Assert.Throws<OnnxModelException>(() => ResNet18Model.CreateSpec(temp.Path));
        Assert.Contains("is not the expected graph", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateSpec_MeanImage_IsBgrWithCaffeLikeChannelMeans()
    {
        var spec = ResNet18Model.CreateSpec(Path.Combine(AppContext.BaseDirectory, "DnnImageModels"));
        Assert.Equal(3 * 224 * 224, spec.MeanImage.Length);
        var plane = 224 * 224;
        var means = Enumerable.Range(0, 3).Select(c => spec.MeanImage.Span.Slice(c * plane, plane).ToArray().Average()).ToArray();

        // Blue < green < red, about 103 / 116 / 123 as ImageNet's BGR means.
        Assert.InRange(means[0], 100, 106);
        Assert.InRange(means[1], 113, 119);
        Assert.InRange(means[2], 120, 126);
        Assert.Equal(ChannelOrder.Bgr, spec.ChannelOrder);
    }
}
