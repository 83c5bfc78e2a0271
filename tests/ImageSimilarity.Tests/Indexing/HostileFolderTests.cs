using System.Diagnostics;
using ImageSimilarity.Imaging;
using ImageSimilarity.Storage;
using ImageSimilarity.TestSupport;
using SkiaSharp;

namespace ImageSimilarity.Indexing;

/// <summary>
/// Folders a careless user or an attacker could hand the indexer: link cycles, links out of the folder, FIFOs and
/// devices named like images, names that are not UTF-8, a read that never returns. Each run must end, index every
/// real image once, and give every odd entry its own outcome. Timeouts only guard against the old hangs.
/// </summary>
public sealed class HostileFolderTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _dir = TestPaths.CreateTempDirectory("imgsim-hostile");
    private readonly PoolingFeatureExtractor _extractor = new();

    public void Dispose()
    {
        _extractor.Dispose();
        _dir.Dispose();
    }

    [SkippableFact]
    public async Task IndexAsync_DirectoryLinksToAncestorsAndItself_IndexEachImageOnce()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need privileges on Windows");
        var folder = MakeFolder(3);
        var sub = Directory.CreateDirectory(Path.Combine(folder, "sub")).FullName;
        File.Copy(Path.Combine(folder, "img00.jpeg"), Path.Combine(sub, "deep.jpeg"));
        Directory.CreateSymbolicLink(Path.Combine(sub, "up"), "..");
        Directory.CreateSymbolicLink(Path.Combine(folder, "self1"), ".");
        Directory.CreateSymbolicLink(Path.Combine(folder, "self2"), ".");

        foreach (var follow in new[] { false, true })
        {
            await using var store = NewStore();
            var result = await new FolderIndexer(_extractor, store)
                .IndexAsync(folder, new FolderIndexOptions { FollowDirectoryLinks = follow })
                .WaitAsync(Guard);

            Assert.Equal(["img00.jpeg", "img01.jpeg", "img02.jpeg", "sub/deep.jpeg"], result.Files.Where(f => f.Outcome == FileIndexOutcome.Indexed).Select(f => f.Id).Order(StringComparer.Ordinal));
            Assert.Equal(4, await store.CountAsync());
            var links = result.Files.Where(f => f.Outcome == FileIndexOutcome.Skipped).OrderBy(f => f.Id, StringComparer.Ordinal).ToList();
            Assert.Equal(["self1", "self2", "sub/up"], links.Select(l => l.Id));
            Assert.All(links, l => Assert.Contains("link to a directory", l.Reason, StringComparison.Ordinal));
        }
    }

    [SkippableFact]
    public async Task IndexAsync_FollowDirectoryLinks_IndexesALinkedFolderOutsideOnce()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need privileges on Windows");
        var folder = MakeFolder(2);
        var elsewhere = MakeFolder(2);
        Directory.CreateSymbolicLink(Path.Combine(folder, "a"), elsewhere);
        Directory.CreateSymbolicLink(Path.Combine(folder, "b"), elsewhere);
        await using var store = NewStore();

        var result = await new FolderIndexer(_extractor, store).IndexAsync(folder, new FolderIndexOptions { FollowDirectoryLinks = true }).WaitAsync(Guard);

        Assert.Equal(4, result.Indexed);
        Assert.Single(result.Files, f => f.Outcome == FileIndexOutcome.Skipped && f.Reason!.Contains("already indexed", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task IndexAsync_FileLinkOutsideTheFolder_IsSkippedWithoutReadingIt()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need privileges on Windows");
        var folder = MakeFolder(2);
        var secret = _dir.Combine("secret.txt");
        File.WriteAllText(secret, "SECRET-CONTENT");
        File.CreateSymbolicLink(Path.Combine(folder, "passwd.jpeg"), secret);
        File.CreateSymbolicLink(Path.Combine(folder, "inside.jpeg"), "img00.jpeg");
        await using var store = NewStore();

        var result = await new FolderIndexer(_extractor, store).IndexAsync(folder).WaitAsync(Guard);

        var outside = Assert.Single(result.Files, f => f.Id == "passwd.jpeg");
        Assert.Equal(FileIndexOutcome.Skipped, outside.Outcome);
        Assert.Contains("outside the indexed folder", outside.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("53 45 43", outside.Reason, StringComparison.Ordinal); // "SEC" as the hex dump of unknown content
        Assert.DoesNotContain("SECRET", outside.Reason, StringComparison.Ordinal);
        Assert.Equal(FileIndexOutcome.Indexed, Assert.Single(result.Files, f => f.Id == "inside.jpeg").Outcome);
        Assert.Equal(3, result.Indexed);
    }

    [SkippableFact]
    public async Task IndexAsync_FifoAndDeviceLinksNamedLikeImages_FailAloneAndTheRunEnds()
    {
        Skip.If(OperatingSystem.IsWindows(), "FIFOs and /dev are Unix");
        var folder = MakeFolder(3);
        MakeFifo(Path.Combine(folder, "y.jpg"));
        File.CreateSymbolicLink(Path.Combine(folder, "z.jpg"), "/dev/zero");
        File.CreateSymbolicLink(Path.Combine(folder, "u.jpg"), "/dev/urandom");
        await using var store = NewStore();

        // The FIFO is refused as not a regular file; the device links point outside the folder and are never opened.
        var result = await new FolderIndexer(_extractor, store).IndexAsync(folder).WaitAsync(Guard);

        Assert.Equal(3, result.Indexed);
        var fifo = Assert.Single(result.Files, f => f.Id == "y.jpg");
        Assert.Equal(FileIndexOutcome.Failed, fifo.Outcome);
        Assert.Contains("not a regular file", fifo.Reason, StringComparison.Ordinal);
        Assert.All(result.Files.Where(f => f.Id is "z.jpg" or "u.jpg"), f => Assert.NotEqual(FileIndexOutcome.Indexed, f.Outcome));
    }

    [SkippableFact]
    public async Task PreprocessAsync_FifoAndDevices_AreRefusedWithoutOpening()
    {
        Skip.If(OperatingSystem.IsWindows(), "FIFOs and /dev are Unix");
        var fifo = _dir.Combine("pipe.jpg");
        MakeFifo(fifo);
        var zero = _dir.Combine("zero.jpg");
        File.CreateSymbolicLink(zero, "/dev/zero");
        var preprocessor = new ImagePreprocessor();

        foreach (var path in new[] { fifo, zero, "/dev/urandom" })
        {
            var ex = await Assert.ThrowsAsync<ImageDecodeException>(() => preprocessor.PreprocessAsync(ImageInput.FromFile(path)).WaitAsync(Guard));
            Assert.Equal(ImageDecodeError.EmptyFile, ex.Error);
            Assert.Contains("not a regular file", ex.Message, StringComparison.Ordinal);
        }

        var dirEx = Assert.Throws<ImageDecodeException>(() => preprocessor.Preprocess(ImageInput.FromFile(_dir.Path)));
        Assert.Contains("is a directory", dirEx.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task OpenWeights_FifoOrDirectory_IsRefusedWithoutBlocking()
    {
        Skip.If(OperatingSystem.IsWindows(), "FIFOs are Unix");
        var fifo = _dir.Combine("weights.pth");
        MakeFifo(fifo);

        var ex = await Assert.ThrowsAsync<ImageSimilarity.Extraction.WeightsFileException>(() => Task.Run(() => ImageSimilarity.Extraction.Weights.WeightsFileReader.Open(fifo)).WaitAsync(Guard));
        Assert.Contains("not a regular file", ex.Message, StringComparison.Ordinal);
        var dir = Assert.Throws<ImageSimilarity.Extraction.WeightsFileException>(() => ImageSimilarity.Extraction.Weights.WeightsFileReader.Open(_dir.Path));
        Assert.Contains("is a directory", dir.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PreprocessAsync_FileLargerThanMaxFileSize_IsRefusedBeforeReading()
    {
        var big = _dir.Combine("huge.jpeg");
        using (var stream = File.Create(big))
        {
            stream.SetLength(ImageDecoderOptions.DefaultMaxFileSize + 1); // sparse: no disk used
        }

        var ex = await Assert.ThrowsAsync<ImageDecodeException>(() => new ImagePreprocessor().PreprocessAsync(ImageInput.FromFile(big)));
        Assert.Equal(ImageDecodeError.FileTooLarge, ex.Error);

        var small = _dir.Combine("small.jpeg");
        File.WriteAllBytes(small, TestImages.Encode(64, 64, SKEncodedImageFormat.Jpeg));
        var capped = new ImagePreprocessor(PreprocessingPreset.Torchvision, new ImageDecoderOptions { MaxFileSize = 100 });
        Assert.Equal(ImageDecodeError.FileTooLarge, Assert.Throws<ImageDecodeException>(() => capped.Preprocess(ImageInput.FromFile(small))).Error);
        using var stream2 = File.OpenRead(small);
        Assert.Equal(ImageDecodeError.FileTooLarge, (await Assert.ThrowsAsync<ImageDecodeException>(() => capped.PreprocessAsync(ImageInput.FromStream(stream2)))).Error);
        Assert.Throws<ArgumentOutOfRangeException>("value", () => new ImageDecoderOptions { MaxFileSize = 0 });
    }

    [Fact]
    public async Task IndexAsync_AWorkerBlockedInARead_DoesNotStallDecodedImagesOrCancellation()
    {
        var folder = MakeFolder(5);
        File.Copy(Path.Combine(folder, "img00.jpeg"), Path.Combine(folder, "blocked.jpeg"));
        await using var store = NewStore();
        var never = new TaskCompletionSource<byte[]>(); // a read stuck in the kernel ignores cancellation
        var indexer = new FolderIndexer(_extractor, store) { WorkerGracePeriod = TimeSpan.FromMilliseconds(200) };
        indexer.ReadFile = (path, name, max, token) => Path.GetFileName(path) == "blocked.jpeg"
            ? new ValueTask<byte[]>(never.Task)
            : ImageFileReader.ReadAsync(path, name, max, token);
        var fiveIndexed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cts = new CancellationTokenSource();

        var run = indexer.IndexAsync(folder, new FolderIndexOptions { DecodeWorkers = 2 }, new Reporter(p =>
        {
            if (p.Indexed == 5)
            {
                fiveIndexed.TrySetResult();
            }
        }), cts.Token);

        await fiveIndexed.Task.WaitAsync(Guard);
        Assert.Equal(5, await store.CountAsync());
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(Guard));
    }

    [Fact]
    public async Task IndexAsync_AnUnexpectedExceptionForOneFile_IsThatFilesOutcome()
    {
        var folder = MakeFolder(3);
        await using var store = NewStore();
        var indexer = new FolderIndexer(_extractor, store);
        indexer.ReadFile = (path, name, max, token) => Path.GetFileName(path) == "img01.jpeg"
            ? throw new InsufficientExecutionStackException("simulated")
            : ImageFileReader.ReadAsync(path, name, max, token);

        var result = await indexer.IndexAsync(folder).WaitAsync(Guard);

        Assert.Equal(2, result.Indexed);
        var failed = Assert.Single(result.Files, f => f.Outcome == FileIndexOutcome.Failed);
        Assert.Equal("img01.jpeg", failed.Id);
        Assert.Contains("simulated", failed.Reason, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task IndexAsync_FileNameThatIsNotUtf8_SaysSo()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "file names are raw bytes only on Linux");
        var folder = MakeFolder(2);
        Run("/bin/sh", "-c", $"cp \"$1/img00.jpeg\" \"$1/bad$(printf '\\377').jpeg\"", "sh", folder);
        Assert.Equal(3, Directory.GetFiles(folder).Length);
        await using var store = NewStore();

        var result = await new FolderIndexer(_extractor, store).IndexAsync(folder).WaitAsync(Guard);

        Assert.Equal(2, result.Indexed);
        var bad = Assert.Single(result.Files, f => f.Outcome == FileIndexOutcome.Failed);
        Assert.Contains("not valid UTF-8", bad.Reason, StringComparison.Ordinal);
    }

    private static void MakeFifo(string path) => Run("mkfifo", path);

    private static void Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{file} failed: {error}");
    }

    private EmbeddedVectorStore NewStore() => EmbeddedVectorStore.Create(_extractor.Dimension, _extractor.ModelId);

    private string MakeFolder(int count)
    {
        var folder = Directory.CreateDirectory(_dir.Combine("images-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        for (var i = 0; i < count; i++)
        {
            File.WriteAllBytes(Path.Combine(folder, $"img{i:00}.jpeg"), TestImages.Encode(100 + i, 80 + i, SKEncodedImageFormat.Jpeg, seed: i));
        }

        return folder;
    }

    private sealed class Reporter(Action<IndexingProgress> onReport) : IProgress<IndexingProgress>
    {
        public void Report(IndexingProgress value) => onReport(value);
    }
}
