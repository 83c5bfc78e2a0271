using ImageSimilarity.Imaging;
using ImageSimilarity.Storage;
using ImageSimilarity.TestSupport;
using SkiaSharp;

namespace ImageSimilarity.Indexing;

public sealed class FolderIndexerTests : IDisposable
{
    private readonly TempDirectory _dir = TestPaths.CreateTempDirectory("imgsim-indexer");
    private readonly PoolingFeatureExtractor _extractor = new();

    public void Dispose()
    {
        _extractor.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task IndexAsync_FolderOfMixedFormats_IndexesEveryImage()
    {
        var folder = MakeFolder(12);
        await using var store = NewStore();
        var progress = new List<IndexingProgress>();

        var result = await new FolderIndexer(_extractor, store).IndexAsync(folder, null, new SyncProgress(progress));

        Assert.Equal(12, result.Indexed);
        Assert.Equal(0, result.Failed + result.Skipped + result.Unchanged + result.Removed);
        Assert.Equal(12, await store.CountAsync());
        Assert.Equal(12, _extractor.ImagesExtracted);
        Assert.All(progress, p => Assert.Equal(12, p.FilesTotal));
        Assert.Equal(12, progress[^1].FilesDone);
        var record = await store.GetAsync("img03.jpeg");
        Assert.NotNull(record);
        Assert.Equal(Path.Combine(folder, "img03.jpeg"), record.Metadata[RecordMetadata.Path]);
        Assert.Equal(64, record.Metadata[RecordMetadata.Sha256].Length);
    }

    [Fact]
    public async Task IndexAsync_CorruptAndTextFiles_AreReportedAndTheRestIndexed()
    {
        var folder = MakeFolder(8);
        var jpeg = File.ReadAllBytes(Path.Combine(folder, "img00.jpeg"));
        File.WriteAllBytes(Path.Combine(folder, "broken1.jpeg"), jpeg.AsSpan(0, jpeg.Length / 3).ToArray());
        File.WriteAllBytes(Path.Combine(folder, "broken2.jpeg"), []);
        File.WriteAllText(Path.Combine(folder, "readme.jpeg"), "not a picture");
        await using var store = NewStore();

        var result = await new FolderIndexer(_extractor, store).IndexAsync(folder);

        Assert.Equal(8, result.Indexed);
        var problems = result.Files.Where(f => f.Outcome is FileIndexOutcome.Failed or FileIndexOutcome.Skipped).OrderBy(f => f.Id).ToList();
        Assert.Equal(["broken1.jpeg", "broken2.jpeg", "readme.jpeg"], problems.Select(p => p.Id));
        Assert.Equal(FileIndexOutcome.Failed, problems[0].Outcome);
        Assert.Contains("truncated", problems[0].Reason, StringComparison.Ordinal);
        Assert.Equal(FileIndexOutcome.Failed, problems[1].Outcome);
        Assert.Equal(FileIndexOutcome.Skipped, problems[2].Outcome);
        Assert.All(problems, p => Assert.Contains(p.Path, p.Reason, StringComparison.Ordinal));
        Assert.Equal(8, await store.CountAsync());
    }

    [Fact]
    public async Task IndexAsync_SecondRun_ExtractsNothingAndFindsEverythingUnchanged()
    {
        var folder = MakeFolder(6);
        await using var store = NewStore();
        var indexer = new FolderIndexer(_extractor, store);
        await indexer.IndexAsync(folder);
        var extracted = _extractor.ImagesExtracted;

        var again = await indexer.IndexAsync(folder);

        Assert.Equal(6, again.Unchanged);
        Assert.Equal(0, again.Indexed);
        Assert.Equal(extracted, _extractor.ImagesExtracted);
    }

    [Fact]
    public async Task IndexAsync_ChangedTouchedAndDeletedFiles_AreHandledIncrementally()
    {
        var folder = MakeFolder(6);
        await using var store = NewStore();
        var indexer = new FolderIndexer(_extractor, store);
        await indexer.IndexAsync(folder);
        var extracted = _extractor.ImagesExtracted;

        // Changed content, same name.
        File.WriteAllBytes(Path.Combine(folder, "img01.jpeg"), TestImages.Encode(200, 150, SKEncodedImageFormat.Png, seed: 99));
        // Same content, new timestamp: must not be extracted again.
        File.SetLastWriteTimeUtc(Path.Combine(folder, "img02.jpeg"), DateTime.UtcNow.AddMinutes(5));
        File.Delete(Path.Combine(folder, "img03.jpeg"));

        var result = await indexer.IndexAsync(folder);

        Assert.Equal(FileIndexOutcome.Indexed, result.Files.Single(f => f.Id == "img01.jpeg").Outcome);
        Assert.Equal(FileIndexOutcome.Unchanged, result.Files.Single(f => f.Id == "img02.jpeg").Outcome);
        Assert.Equal(FileIndexOutcome.Removed, result.Files.Single(f => f.Id == "img03.jpeg").Outcome);
        Assert.Equal(extracted + 1, _extractor.ImagesExtracted);
        Assert.Equal(5, await store.CountAsync());
        Assert.Null(await store.GetAsync("img03.jpeg"));

        // The touched file's new time is recorded, so the next run does not even read it.
        var third = await indexer.IndexAsync(folder);
        Assert.Equal(5, third.Unchanged);
        Assert.Equal(extracted + 1, _extractor.ImagesExtracted);
    }

    [Fact]
    public async Task IndexAsync_IncludeExcludeAndRecursive_SelectFiles()
    {
        var folder = MakeFolder(4);
        var sub = Directory.CreateDirectory(Path.Combine(folder, "sub", "deeper")).FullName;
        File.WriteAllBytes(Path.Combine(sub, "nested.png"), TestImages.Encode(120, 90, SKEncodedImageFormat.Png, seed: 7));
        File.WriteAllBytes(Path.Combine(folder, ".hidden.png"), TestImages.Encode(120, 90, SKEncodedImageFormat.Png, seed: 8));
        await using var store = NewStore();
        var indexer = new FolderIndexer(_extractor, store);

        var flat = await indexer.IndexAsync(folder, new FolderIndexOptions { Recursive = false, Exclude = ["img00.*"] });
        Assert.Equal(["img01.jpeg", "img02.jpeg", "img03.jpeg"], flat.Files.Select(f => f.Id));

        await using var store2 = NewStore();
        var onlyPng = await new FolderIndexer(_extractor, store2).IndexAsync(folder, new FolderIndexOptions { Include = ["**/*.png"] });
        Assert.Equal(["sub/deeper/nested.png"], onlyPng.Files.Select(f => f.Id));
    }

    [Fact]
    public async Task IndexAsync_ExtractorWithItsOwnPreprocessing_GetsTheBytesAndBadFilesAreStillReportedOneByOne()
    {
        var folder = MakeFolder(6);
        var jpeg = File.ReadAllBytes(Path.Combine(folder, "img00.jpeg"));
        File.WriteAllBytes(Path.Combine(folder, "broken.jpeg"), jpeg.AsSpan(0, jpeg.Length / 3).ToArray());
        File.WriteAllText(Path.Combine(folder, "readme.jpeg"), "not a picture");
        using var histogram = new Search.HistogramExtractor();
        await using var store = EmbeddedVectorStore.Create(histogram.Dimension, histogram.ModelId);

        var result = await new FolderIndexer(histogram, store).IndexAsync(folder, new FolderIndexOptions { DecodeWorkers = 1 });

        Assert.Equal(6, result.Indexed);
        Assert.Equal(FileIndexOutcome.Failed, result.Files.Single(f => f.Id == "broken.jpeg").Outcome);
        Assert.Equal(FileIndexOutcome.Skipped, result.Files.Single(f => f.Id == "readme.jpeg").Outcome);
        var stored = await store.GetAsync("img04.jpeg");
        var direct = (await histogram.ExtractAsync([ImageInput.FromFile(Path.Combine(folder, "img04.jpeg"))]))[0];
        Assert.NotNull(stored);
        Assert.True(System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(stored.Vector.Span, direct) > 0.99999f);
    }

    [Fact]
    public async Task IndexAsync_CancelledMidway_SavesFinishedWorkAndTheNextRunResumes()
    {
        // The indexer hands the extractor at most 32 ready images per call: 70 files need at least three calls, and
        // the slow calls let the single decode worker fill the queue in between.
        const int files = 70;
        var folder = MakeFolder(files);
        var indexPath = _dir.Combine("index.isvs");
        _extractor.DelayPerBatch = TimeSpan.FromMilliseconds(300);
        using var cts = new CancellationTokenSource();
        var options = new FolderIndexOptions { DecodeWorkers = 1 };
        var progress = new SyncProgress([], p =>
        {
            if (p.Indexed >= 6)
            {
                cts.Cancel();
            }
        });

        await using (var store = await EmbeddedVectorStore.OpenOrCreateAsync(indexPath, _extractor.Dimension, _extractor.ModelId))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new FolderIndexer(_extractor, store).IndexAsync(folder, options, progress, cts.Token));
        }

        var extractedBefore = _extractor.ImagesExtracted;
        _extractor.DelayPerBatch = TimeSpan.Zero;
        await using var reopened = await EmbeddedVectorStore.OpenOrCreateAsync(indexPath, _extractor.Dimension, _extractor.ModelId);
        var saved = await reopened.CountAsync();
        Assert.InRange(saved, 6, files - 1);

        var resumed = await new FolderIndexer(_extractor, reopened).IndexAsync(folder, options);

        Assert.Equal(saved, resumed.Unchanged);
        Assert.Equal(files - saved, resumed.Indexed);
        Assert.Equal(extractedBefore + (files - saved), _extractor.ImagesExtracted);
        await using var final = await EmbeddedVectorStore.OpenAsync(indexPath);
        Assert.Equal(files, await final.CountAsync());
    }

    [Fact]
    public async Task Constructor_StoreOfAnotherModel_ThrowsNamingBothModels()
    {
        await using var store = EmbeddedVectorStore.Create(_extractor.Dimension, "some-other-model");

        var ex = Assert.Throws<ModelMismatchException>(() => new FolderIndexer(_extractor, store));

        Assert.Equal(("some-other-model", _extractor.ModelId), (ex.StoredModelId, ex.RequestedModelId));
        Assert.Contains("some-other-model", ex.Message, StringComparison.Ordinal);
        Assert.Contains(_extractor.ModelId, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IndexAsync_MissingFolder_ThrowsDirectoryNotFound()
    {
        await using var store = NewStore();
        var missing = _dir.Combine("nope");

        var ex = await Assert.ThrowsAsync<DirectoryNotFoundException>(() => new FolderIndexer(_extractor, store).IndexAsync(missing));

        Assert.Contains(missing, ex.Message, StringComparison.Ordinal);
    }

    private EmbeddedVectorStore NewStore() => EmbeddedVectorStore.Create(_extractor.Dimension, _extractor.ModelId);

    /// <summary>Writes JPEG, PNG and WebP pictures, all named .jpeg like the seed sample.</summary>
    private string MakeFolder(int count)
    {
        var folder = Directory.CreateDirectory(_dir.Combine("images-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        SKEncodedImageFormat[] formats = [SKEncodedImageFormat.Jpeg, SKEncodedImageFormat.Png, SKEncodedImageFormat.Webp];
        for (var i = 0; i < count; i++)
        {
            var bytes = TestImages.Encode(160 + (i * 7), 120 + (i * 3), formats[i % 3], quality: 85, seed: i);
            File.WriteAllBytes(Path.Combine(folder, $"img{i:00}.jpeg"), bytes);
        }

        return folder;
    }

    /// <summary>Records progress synchronously (Progress&lt;T&gt; posts to the thread pool, which would race the assertions).</summary>
    private sealed class SyncProgress(List<IndexingProgress> sink, Action<IndexingProgress>? onReport = null) : IProgress<IndexingProgress>
    {
        public void Report(IndexingProgress value)
        {
            lock (sink)
            {
                sink.Add(value);
            }

            onReport?.Invoke(value);
        }
    }
}
