using ImageSimilarity.Imaging;
using ImageSimilarity.Indexing;
using ImageSimilarity.Search;
using ImageSimilarity.Storage;
using ImageSimilarity.TestSupport;
using Xunit.Abstractions;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>The real pretrained ResNet18 from NuGet finds the pictures of the same thing on the seed sample.</summary>
public sealed class ResNet18RetrievalTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task SeedSample_LeaveOneOutThroughPublicApi_FindsSameCategory()
    {
        var files = SeedImages.Files;
        Assert.Equal(88, files.Length);
        using var extractor = await ResNet18Model.LoadAsync();
        Assert.Equal(ResNet18Model.FeatureDimension, extractor.Dimension);
        await using var store = EmbeddedVectorStore.Create(extractor.Dimension, extractor.ModelId);
        var searcher = new SimilaritySearcher(extractor, store);

        // Files on disk to ranked results: the folder indexer decodes on worker threads and runs the model in batches;
        // the searcher extracts each query file and the store ranks.
        var indexed = await new FolderIndexer(extractor, store).IndexAsync(SeedImages.Folder);
        Assert.Equal(88, indexed.Indexed);
        Assert.Equal(88, await store.CountAsync());

        var rankings = new Dictionary<string, IReadOnlyList<string>>();
        foreach (var file in files)
        {
            var id = Path.GetFileName(file);
            var hits = await searcher.SearchAsync(ImageInput.FromFile(file), new SearchOptions { Store = new VectorSearchOptions { Top = 87, ExcludeIds = new HashSet<string> { id } } });
            rankings[id] = hits.Select(h => h.Id).ToList();
        }

        var metrics = RetrievalMetrics.Evaluate(rankings);
        output.WriteLine($"ResNet18 ({extractor.ModelId}), leave-one-out on 88 seed images: {RetrievalMetrics.Format(metrics)}");
        Assert.True(metrics.PrecisionAt1 >= 0.95, RetrievalMetrics.Format(metrics));
        Assert.True(metrics.MeanAveragePrecision >= 0.85, RetrievalMetrics.Format(metrics));
    }
}
