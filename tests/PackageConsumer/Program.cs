// A consumer of the packed ImageSimilarity package: it exercises the public API end to end without the 528 MB
// weights (decoding and preprocessing through SkiaSharp's native library, TorchSharp's native library, the embedded
// store with persistence, and search), and exits non-zero on any mismatch.
using ImageSimilarity.Imaging;
using ImageSimilarity.Storage;
using SkiaSharp;

var dir = Directory.CreateTempSubdirectory("imagesimilarity-consumer").FullName;
try
{
    // 1. Decode + preprocess a real PNG through the package's native SkiaSharp assets.
    using var bitmap = new SKBitmap(320, 200);
    using (var canvas = new SKCanvas(bitmap))
    {
        canvas.Clear(new SKColor(200, 40, 40));
    }

    using var png = SKImage.FromBitmap(bitmap).Encode(SKEncodedImageFormat.Png, 100);
    var input = new ImagePreprocessor(PreprocessingPreset.Torchvision).Preprocess(ImageInput.FromBytes(png.ToArray(), "red.png"));
    Check(input.Data.Length == 3 * 224 * 224, "preprocessed length");
    Check(Math.Abs(input.Data.Span[0] - ((200 / 255f) - 0.485f) / 0.229f) < 1e-5, "red channel value");

    // 2. TorchSharp's native library loads (libtorch ships inside the package's dependency graph).
    using (var t = TorchSharp.torch.ones(2, 2))
    {
        Check(t.sum().item<float>() == 4f, "torch sum");
    }

    // 3. The embedded store: upsert, save, reopen, search.
    var store = EmbeddedVectorStore.Create(4, "consumer-test");
    await store.UpsertAsync([
        new VectorRecord("a", new float[] { 1, 0, 0, 0 }),
        new VectorRecord("b", new float[] { 0.9f, 0.1f, 0, 0 }),
        new VectorRecord("c", new float[] { 0, 0, 1, 0 }),
    ]);
    var path = Path.Combine(dir, "index.isvs");
    await store.SaveAsync(path);
    await store.DisposeAsync();
    await using var reopened = await EmbeddedVectorStore.OpenAsync(path);
    var results = await reopened.SearchAsync(new float[] { 1, 0.05f, 0, 0 }, new VectorSearchOptions { Top = 2 });
    Check(results.Count == 2 && results[0].Id == "a" && results[1].Id == "b", "search order");
    Console.WriteLine("package consumer: OK (preprocessing, TorchSharp, store, search)");
    return 0;
}
finally
{
    Directory.Delete(dir, recursive: true);
}

static void Check(bool condition, string what)
{
    if (!condition)
    {
        throw new InvalidOperationException("package consumer check failed: " + what);
    }
}
