using ImageSimilarity.Extraction;
using ImageSimilarity.Indexing;
using ImageSimilarity.Storage;

namespace SearchByImage.Web.TestSupport;

/// <summary>
/// Once per test run: random-weight VGG16 weights (bf16 safetensors written from C#) and an index of the seed
/// sample's 88 images built with them by the library's <see cref="FolderIndexer"/>, the way the CLI builds one.
/// </summary>
public sealed class SeedIndex : IAsyncLifetime
{
    private TempDirectory? _dir;

    /// <summary>Gets the seed sample's images folder.</summary>
    public string ImagesFolder { get; private set; } = "";

    /// <summary>Gets the weights file.</summary>
    public string WeightsPath { get; private set; } = "";

    /// <summary>Gets the index file.</summary>
    public string IndexPath { get; private set; } = "";

    /// <summary>Gets the ids in the index.</summary>
    public IReadOnlyList<string> Ids { get; private set; } = [];

    /// <summary>Gets a folder for the tests' own files.</summary>
    public string Scratch => _dir!.Combine("scratch");

    public async Task InitializeAsync()
    {
        if (TestPaths.SeedSample is not { } seed)
        {
            if (TestPaths.IsCi)
            {
                throw new InvalidOperationException($"CI must have the seed sample at {Path.Combine(TestPaths.Shared, "datasets", "seed-sample")}.");
            }

            return;
        }

        _dir = TestPaths.CreateTempDirectory("imgsim-web");
        try
        {
            await BuildAsync(_dir, seed);
        }
        catch
        {
            // Leave nothing behind (276 MB of weights) when the build fails, for example on a full disk.
            _dir.Dispose();
            throw;
        }
    }

    private async Task BuildAsync(TempDirectory dir, string seed)
    {
        Directory.CreateDirectory(Scratch);
        ImagesFolder = Path.Combine(seed, "images");
        WeightsPath = dir.Combine("vgg16-random.safetensors");
        IndexPath = dir.Combine("index.db");
        RandomVgg16Weights.Write(WeightsPath);

        using var extractor = await Vgg16FeatureExtractor.CreateAsync(ExtractorOptions(WeightsPath));
        await using var store = await EmbeddedVectorStore.OpenOrCreateAsync(IndexPath, extractor.Dimension, extractor.ModelId);
        var result = await new FolderIndexer(extractor, store).IndexAsync(ImagesFolder);
        if (result.Failed > 0 || result.Indexed == 0)
        {
            throw new InvalidOperationException($"Indexing the seed sample failed: {result.Indexed} indexed, {result.Failed} failed.");
        }

        await store.SaveChangesAsync();
        Ids = store.GetIds();
    }

    /// <summary>Skips the test outside CI when the seed sample is missing (in CI the fixture fails instead).</summary>
    public void Require() => Skip.If(_dir is null, "The seed sample is missing (" + Path.Combine(TestPaths.Shared, "datasets", "seed-sample") + ").");

    public Task DisposeAsync()
    {
        _dir?.Dispose();
        return Task.CompletedTask;
    }

    internal static Vgg16ExtractorOptions ExtractorOptions(string weights) => new()
    {
        WeightsPath = weights,
        Precision = ComputePrecision.BFloat16,
        Download = new WeightsDownloadOptions { AllowDownload = false },
    };
}

[CollectionDefinition(Name)]
public sealed class WebCollection : ICollectionFixture<SeedIndex>
{
    public const string Name = "web app on the seed index";
}
