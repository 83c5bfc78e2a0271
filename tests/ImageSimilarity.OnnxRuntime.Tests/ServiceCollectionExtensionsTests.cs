using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;
using ImageSimilarity.Search;
using ImageSimilarity.Storage;
using ImageSimilarity.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace ImageSimilarity.OnnxRuntime;

public sealed class ServiceCollectionExtensionsTests
{
    [SkippableFact]
    public async Task AddImageSimilarityResNet18_BeforeAddImageSimilarity_SearcherUsesResNet18()
    {
        var files = SeedImages.Files;
        var services = new ServiceCollection().AddImageSimilarityResNet18().AddImageSimilarity();
        await using var provider = services.BuildServiceProvider();
        await provider.InitializeImageSimilarityAsync();

        var extractor = provider.GetRequiredService<IFeatureExtractor>();
        Assert.IsType<OnnxFeatureExtractor>(extractor);
        Assert.Equal(512, extractor.Dimension);
        var store = provider.GetRequiredService<IVectorStore>();
        var searcher = provider.GetRequiredService<SimilaritySearcher>();
        var dogs = files.Where(f => Path.GetFileName(f).StartsWith("Dog", StringComparison.Ordinal)).Take(2).ToArray();
        var grapes = files.First(f => Path.GetFileName(f).StartsWith("grapes", StringComparison.Ordinal));
        foreach (var file in new[] { dogs[1], grapes })
        {
            await searcher.AddAsync(Path.GetFileName(file), ImageInput.FromFile(file));
        }

        var hits = await searcher.SearchAsync(ImageInput.FromFile(dogs[0]));
        Assert.Equal(Path.GetFileName(dogs[1]), hits[0].Id);
        Assert.Equal(2, await store.CountAsync());
    }

    [Fact]
    public void AddImageSimilarityResNet18_AfterAddImageSimilarity_Throws()
    {
        var services = new ServiceCollection().AddImageSimilarity();
        var ex = Assert.Throws<InvalidOperationException>(() => services.AddImageSimilarityResNet18());
        Assert.Contains("before calling AddImageSimilarity", ex.Message, StringComparison.Ordinal);
    }
}
