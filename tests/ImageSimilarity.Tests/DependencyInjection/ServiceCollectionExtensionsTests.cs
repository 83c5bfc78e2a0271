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
            ["ImageSimilarity:MaxPixels"] = "1000",
            ["ImageSimilarity:WeightsPath"] = "/models/vgg16.pth",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IFeatureExtractor>(new PoolingFeatureExtractor());

        services.AddImageSimilarity(configuration.GetSection("ImageSimilarity"));
        await using var provider = services.BuildServiceProvider();
        await provider.InitializeImageSimilarityAsync();

        var options = provider.GetRequiredService<IOptions<ImageSimilarityOptions>>().Value;
        Assert.Equal(PreprocessingPreset.KerasCaffe, options.Preset);
        Assert.Equal(ComputePrecision.BFloat16, options.Precision);
        Assert.Equal(4, options.BatchSize);
        Assert.Equal(1000, options.MaxPixels);
        Assert.Equal("/models/vgg16.pth", options.WeightsPath);
        var extractorOptions = options.ToExtractorOptions();
        Assert.Equal((4, 1000L), (extractorOptions.BatchSize, extractorOptions.DecoderOptions.MaxPixels));
        var store = Assert.IsType<EmbeddedVectorStore>(provider.GetRequiredService<IVectorStore>());
        Assert.Equal(Path.GetFullPath(indexPath), store.FilePath);
        Assert.Equal(VectorPrecision.Half, store.Precision);
        Assert.Same(store, provider.GetRequiredService<IPersistentVectorStore>());
        Assert.Same(store, provider.GetRequiredService<EmbeddedVectorStore>());
        Assert.IsType<PoolingFeatureExtractor>(provider.GetRequiredService<IFeatureExtractor>());
        Assert.Same(store, provider.GetRequiredService<SimilaritySearcher>().Store);
        Assert.NotNull(provider.GetRequiredService<FolderIndexer>());
    }

    [Fact]
    public async Task AddImageSimilarity_InAHost_LoadsAtStartAndSavesTheAppsAdditionsAtStop()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var indexPath = dir.Combine("hosted.isvs");
        var extractor = new PoolingFeatureExtractor();
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<IFeatureExtractor>(extractor);
        builder.Services.AddImageSimilarity(o => o.IndexPath = indexPath);
        using (var host = builder.Build())
        {
            await host.StartAsync();
            var store = host.Services.GetRequiredService<IVectorStore>();
            await store.UpsertAsync([new VectorRecord("a", Enumerable.Range(1, extractor.Dimension).Select(i => (float)i).ToArray())]);
            await host.StopAsync();
        }

        await using var reopened = await EmbeddedVectorStore.OpenAsync(indexPath);
        Assert.Equal(["a"], reopened.GetIds());
    }

    [Fact]
    public async Task AddImageSimilarity_WithoutIndexPath_UsesAMemoryStoreAndKeepsAnEarlierStore()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IFeatureExtractor>(new PoolingFeatureExtractor());
        services.AddImageSimilarity(o => o.BatchSize = 2);
        await using (var provider = services.BuildServiceProvider())
        {
            await provider.InitializeImageSimilarityAsync();
            var store = Assert.IsType<EmbeddedVectorStore>(provider.GetRequiredService<IVectorStore>());
            Assert.Null(store.FilePath);
        }

        var custom = EmbeddedVectorStore.Create(48, new PoolingFeatureExtractor().ModelId);
        var withStore = new ServiceCollection();
        withStore.AddSingleton<IFeatureExtractor>(new PoolingFeatureExtractor());
        withStore.AddSingleton<IVectorStore>(custom);
        withStore.AddImageSimilarity();
        await using var provider2 = withStore.BuildServiceProvider();
        await provider2.InitializeImageSimilarityAsync();
        Assert.Same(custom, provider2.GetRequiredService<IVectorStore>());
        Assert.Null(provider2.GetService<IPersistentVectorStore>());
    }

    [Fact]
    public async Task AddImageSimilarity_NotInitialized_ResolvingTheStoreSaysWhatToDo()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IFeatureExtractor>(new PoolingFeatureExtractor());
        services.AddImageSimilarity();
        await using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IVectorStore>());

        Assert.Contains("InitializeImageSimilarityAsync", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddImageSimilarity_InvalidSettings_FailValidationAtStartNamingEveryKey()
    {
        var services = new ServiceCollection();
        services.AddImageSimilarity(o =>
        {
            o.BatchSize = 0;
            o.MaxPixels = -1;
        });
        await using var provider = services.BuildServiceProvider();

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => provider.InitializeImageSimilarityAsync());

        Assert.Contains("ImageSimilarity:BatchSize", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ImageSimilarity:MaxPixels", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddImageSimilarity_VectorsInMemoryFalse_LeavesTheVectorsInTheIndexFile()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var indexPath = dir.Combine("on-disk.db");
        var extractor = new PoolingFeatureExtractor();
        var vectors = Enumerable.Range(0, 40).Select(r => Enumerable.Range(0, extractor.Dimension).Select(d => (float)(((r * 7) + (d * 13)) % 11)).ToArray()).ToArray();
        await using (var seeded = await EmbeddedVectorStore.OpenOrCreateAsync(indexPath, extractor.Dimension, extractor.ModelId))
        {
            await seeded.UpsertAsync(vectors.Select((v, i) => new VectorRecord($"r{i}", v)));
            await seeded.EnableTwoStageAsync(8);
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ImageSimilarity:IndexPath"] = indexPath,
            ["ImageSimilarity:VectorsInMemory"] = "false",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IFeatureExtractor>(extractor);
        services.AddImageSimilarity(configuration.GetSection("ImageSimilarity"));
        await using var provider = services.BuildServiceProvider();
        await provider.InitializeImageSimilarityAsync();

        var store = provider.GetRequiredService<EmbeddedVectorStore>();
        Assert.Equal(0, store.VectorMemoryBytes);
        Assert.Equal(8, store.TwoStageCandidates);
        var hit = (await store.SearchAsync(vectors[5], new VectorSearchOptions { Top = 1 }))[0];
        Assert.Equal("r5", hit.Id);
        Assert.Equal(1f, hit.Similarity, 1e-5f);
    }

    [Fact]
    public async Task AddImageSimilarity_VectorsInMemoryFalseWithoutIndexPath_FailsValidationNamingBothKeys()
    {
        var services = new ServiceCollection();
        services.AddImageSimilarity(o => o.VectorsInMemory = false);
        await using var provider = services.BuildServiceProvider();

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => provider.InitializeImageSimilarityAsync());

        Assert.Contains("ImageSimilarity:VectorsInMemory", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ImageSimilarity:IndexPath", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddImageSimilarity_NullServices_ThrowsWithParameterName()
    {
        var ex = Assert.Throws<ArgumentNullException>(() => ImageSimilarityServiceCollectionExtensions.AddImageSimilarity(null!));
        Assert.Equal("services", ex.ParamName);
    }
}
