using ImageSimilarity.Extraction;
using ImageSimilarity.Extraction.Weights;
using ImageSimilarity.Fuzzing;
using ImageSimilarity.Imaging;
using ImageSimilarity.Storage;
using ImageSimilarity.TestSupport;
using Xunit.Abstractions;

namespace ImageSimilarity;

/// <summary>
/// Mutation fuzzing of every reader of untrusted bytes, from real seed files: weights written by the real torch.save
/// (Seeds/make_seeds.py), an index written by the store, images of the seed sample. Every mutated input must load or
/// throw the reader's documented exception (<see cref="WeightsFileException"/>, <see cref="IndexFileException"/>,
/// <see cref="ImageDecodeException"/>) within the per-input timeout, under the runsettings' managed-heap cap.
/// </summary>
public sealed class ReaderFuzzTests : IDisposable
{
    private static readonly string Seeds = Path.Combine(AppContext.BaseDirectory, "Seeds");
    private readonly ITestOutputHelper _output;
    private readonly TempDirectory _dir = TestPaths.CreateTempDirectory("imgsim-fuzz");

    public ReaderFuzzTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void MemoryCap_FromTheRunSettings_IsInEffect()
    {
        // fuzz.runsettings sets DOTNET_GCHeapHardLimit; without it an input that allocates without bound would go unnoticed.
        var available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        Assert.True(available <= 1L << 30, $"the managed heap may use {available:N0} bytes; expected the 1 GiB cap of fuzz.runsettings");
    }

    [Fact]
    public void Pickle_MutatedDataPkl_LoadsOrThrowsWeightsFileException()
    {
        var seed = File.ReadAllBytes(Path.Combine(Seeds, "data.pkl"));
        FuzzRunner.Run<WeightsFileException>("pickle", [seed], FuzzRunner.InputsPerReader, input =>
        {
            var reader = new PickleReader(new MemoryStream(input, writable: false), "data.pkl", pid => TorchCheckpointReader.ZipStorage(pid, "data.pkl"));
            reader.Load();
        }, _output, randomSeed: 1);
    }

    [Fact]
    public void LegacyPth_MutatedFile_LoadsOrThrowsWeightsFileException() => FuzzWeights("legacy .pth (5 pickles + storages)", "small_legacy.pth", 2);

    [Fact]
    public void ZipPth_MutatedFile_LoadsOrThrowsWeightsFileException() => FuzzWeights("zip .pth", "small_zip.pth", 3);

    [Fact]
    public void Safetensors_MutatedFile_LoadsOrThrowsWeightsFileException() => FuzzWeights("safetensors", "small.safetensors", 4);

    [Fact]
    public async Task IndexFile_MutatedFile_LoadsOrThrowsIndexFileException()
    {
        // Generic on purpose: whatever format EmbeddedVectorStore writes now is what gets mutated and read back.
        var seedPath = _dir.Combine("seed.index");
        var random = new Random(7);
        await using (var store = await EmbeddedVectorStore.OpenOrCreateAsync(seedPath, 16, "fuzz-model"))
        {
            var records = Enumerable.Range(0, 12).Select(i => new VectorRecord(
                $"img{i:00}.jpeg",
                Enumerable.Range(0, 16).Select(_ => (float)random.NextDouble()).ToArray(),
                new Dictionary<string, string> { [RecordMetadata.Path] = $"/photos/img{i:00}.jpeg", [RecordMetadata.Sha256] = new string('a', 64) }));
            await store.UpsertAsync(records);
            store.Properties["folders"] = "/photos";
            await store.SaveChangesAsync();
        }

        var seed = File.ReadAllBytes(seedPath);
        var path = _dir.Combine("mutated.index");
        var query = Enumerable.Range(0, 16).Select(i => (float)Math.Sin(i)).ToArray();
        FuzzRunner.Run<IndexFileException>("index file", [seed], FuzzRunner.InputsPerReader, input =>
        {
            WriteInput(path, input);
            var store = EmbeddedVectorStore.OpenAsync(path).GetAwaiter().GetResult();
            try
            {
                _ = store.CountAsync().GetAwaiter().GetResult();
                if (store.Dimension == query.Length)
                {
                    _ = store.SearchAsync(query).GetAwaiter().GetResult();
                }

                var list = store.ListAsync().GetAsyncEnumerator();
                while (list.MoveNextAsync().AsTask().GetAwaiter().GetResult())
                {
                    _ = list.Current.Metadata.Count;
                }
            }
            finally
            {
                store.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }, _output, randomSeed: 5);
    }

    [SkippableFact]
    public void ImageDecoder_MutatedSeedImages_DecodeOrThrowImageDecodeException()
    {
        var sample = TestPaths.SeedSample;
        if (sample is null)
        {
            Assert.False(TestPaths.IsCi, "CI must have the seed sample at ../shared/datasets/seed-sample");
            Skip.If(true, "the seed sample (../shared/datasets/seed-sample) is not here");
        }

        // The smallest real JPEG, PNG and WebP of the seed sample (all named .jpeg): small seeds keep each decode fast.
        var seeds = Directory.GetFiles(Path.Combine(sample!, "images"))
            .Select(File.ReadAllBytes)
            .GroupBy(Format)
            .Where(g => g.Key is not null)
            .Select(g => g.OrderBy(b => b.Length).First())
            .ToList();
        Assert.Equal(3, seeds.Count);
        var preprocessor = new ImagePreprocessor();
        FuzzRunner.Run<ImageDecodeException>("image decoder (JPEG, PNG, WebP)", seeds, FuzzRunner.InputsPerReader, input =>
        {
            preprocessor.Preprocess(ImageInput.FromBytes(input, "fuzz"));
        }, _output, randomSeed: 6);
    }

    private static string? Format(byte[] bytes) => bytes switch
    {
        [0xFF, 0xD8, ..] => "jpeg",
        [0x89, (byte)'P', (byte)'N', (byte)'G', ..] => "png",
        [(byte)'R', (byte)'I', (byte)'F', (byte)'F', _, _, _, _, (byte)'W', (byte)'E', (byte)'B', (byte)'P', ..] => "webp",
        _ => null,
    };

    private void FuzzWeights(string reader, string seedName, int randomSeed)
    {
        var seed = File.ReadAllBytes(Path.Combine(Seeds, seedName));
        var path = _dir.Combine("mutated" + Path.GetExtension(seedName));
        FuzzRunner.Run<WeightsFileException>(reader, [seed], FuzzRunner.InputsPerReader, input =>
        {
            WriteInput(path, input);
            using var stateDict = WeightsFileReader.Open(path);
            foreach (var tensor in stateDict.Tensors)
            {
                // What Vgg16StateDictMapper checks before it reads a tensor; it reads only tensors of VGG16's shapes, so
                // the harness reads the ones small enough to be seed tensors.
                _ = tensor.ShapeText;
                if (tensor.IsContiguous && tensor.ElementCount <= 1 << 20
                    && tensor.RequiredStorageBytes <= tensor.Storage.ByteLength && tensor.RequiredStorageBytes <= tensor.Storage.AvailableBytes)
                {
                    tensor.ReadInto(new byte[tensor.ByteLength]);
                }
            }
        }, _output, randomSeed);
    }

    private static void WriteInput(string path, byte[] input)
    {
        File.WriteAllBytes(path, input);
    }
}
