using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;
using ImageSimilarity.Indexing;
using ImageSimilarity.Search;
using ImageSimilarity.Storage;
using ImageSimilarity.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ImageSimilarity.DependencyInjection;

public sealed class ServiceCollectionExtensionsTests
{
    [Fact]
    public async Task AddImageSimilarity_FromConfiguration_BindsOptionsAndWiresTheStoreToTheIndexFile()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var indexPath = dir.Combine("app.isvs");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ImageSimilarity:IndexPath"] = indexPath,
            ["ImageSimilarity:Preset"] = "KerasCaffe",
            ["ImageSimilarity:Precision"] = "BFloat16",
            ["ImageSimilarity:StorePrecision"] = "Half",
            ["ImageSimilarity:BatchSize"] = "4",
            ["ImageSimilarity:WeightsPath"] = "/models/vgg16.pth",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IFeatureExtractor>(new PoolingFeatureExtractor());

        services.AddImageSimilarity(configuration.GetSection("ImageSimilarity"));
        await using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<ImageSimilarityOptions>>().Value;
        Assert.Equal(PreprocessingPreset.KerasCaffe, options.Preset);
        Assert.Equal(ComputePrecision.BFloat16, options.Precision);
        Assert.Equal(4, options.BatchSize);
        Assert.Equal("/models/vgg16.pth", options.WeightsPath);
        var store = Assert.IsType<EmbeddedVectorStore>(provider.GetRequiredService<IVectorStore>());
        Assert.Equal(Path.GetFullPath(indexPath), store.FilePath);
        Assert.Equal(VectorPrecision.Half, store.Precision);
        Assert.IsType<PoolingFeatureExtractor>(provider.GetRequiredService<IFeatureExtractor>());
        Assert.Same(store, provider.GetRequiredService<SimilaritySearcher>().Store);
        Assert.NotNull(provider.GetRequiredService<FolderIndexer>());
    }

    [Fact]
    public async Task AddImageSimilarity_WithoutIndexPath_UsesAMemoryStoreAndKeepsAnEarlierStore()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IFeatureExtractor>(new PoolingFeatureExtractor());
        services.AddImageSimilarity(o => o.BatchSize = 2);
        await using (var provider = services.BuildServiceProvider())
        {
            var store = Assert.IsType<EmbeddedVectorStore>(provider.GetRequiredService<IVectorStore>());
            Assert.Null(store.FilePath);
        }

        var custom = EmbeddedVectorStore.Create(48, new PoolingFeatureExtractor().ModelId);
        var withStore = new ServiceCollection();
        withStore.AddSingleton<IFeatureExtractor>(new PoolingFeatureExtractor());
        withStore.AddSingleton<IVectorStore>(custom);
        withStore.AddImageSimilarity();
        await using var provider2 = withStore.BuildServiceProvider();
        Assert.Same(custom, provider2.GetRequiredService<IVectorStore>());
    }

    [Fact]
    public async Task AddImageSimilarity_InvalidBatchSize_FailsWhenTheExtractorIsResolved()
    {
        var services = new ServiceCollection();
        services.AddImageSimilarity(o => o.BatchSize = 0);
        await using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => provider.GetRequiredService<IFeatureExtractor>());
        Assert.Equal("BatchSize", ex.ParamName);
    }

    [Fact]
    public void AddImageSimilarity_NullServices_ThrowsWithParameterName()
    {
        var ex = Assert.Throws<ArgumentNullException>(() => ImageSimilarityServiceCollectionExtensions.AddImageSimilarity(null!));
        Assert.Equal("services", ex.ParamName);
    }
}
