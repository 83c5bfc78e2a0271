// End-to-end folder indexing throughput against model-only throughput, at the same batch size and precision.
//
//   dotnet run -c Release --project benchmarks/IndexingThroughput -- <folder> <weights> [batch=8] [fp32|bf16] [decode-workers]
//
// Model-only: every image is decoded and preprocessed first (not timed), then only the extractor is timed over all of
// them in batches. End-to-end: FolderIndexer on the same folder into an empty in-memory store (decode workers, bounded
// queue, batched extraction, upserts), wall-clock. Model-only runs before and after the end-to-end run and the two are
// averaged, so a drift in machine load shows up as a difference between them.
using System.Diagnostics;
using System.Globalization;
using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;
using ImageSimilarity.Indexing;
using ImageSimilarity.Storage;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: IndexingThroughput <folder> <weights> [batch=8] [fp32|bf16]");
    return 2;
}

var folder = args[0];
var batch = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 8;
var precision = args.Length > 3 && args[3] == "bf16" ? ComputePrecision.BFloat16 : ComputePrecision.Float32;
var decodeWorkers = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : FolderIndexOptions.Default.DecodeWorkers;
using var extractor = Vgg16FeatureExtractor.Load(args[1], new Vgg16ExtractorOptions { BatchSize = batch, Precision = precision });

var preprocessed = new List<PreprocessedImage>();
var files = Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal).Select(f => (Path: f, Bytes: File.ReadAllBytes(f))).ToList();
var decodeClock = Stopwatch.StartNew();
foreach (var (file, bytes) in files)
{
    try
    {
        preprocessed.Add(extractor.Preprocessor.Preprocess(ImageInput.FromBytes(bytes, file)));
    }
    catch (ImageDecodeException)
    {
        // Not an image: the indexer skips it too.
    }
}

// One thread, files already in memory: the CPU cost of decoding + preprocessing that the pipeline hides.
var decodeMsPerImage = decodeClock.Elapsed.TotalMilliseconds / Math.Max(1, preprocessed.Count);

// Warm-up: first-call allocations and oneDNN primitive creation.
await extractor.ExtractPreprocessedAsync(preprocessed.Take(batch).ToList());

double ModelOnly()
{
    var sw = Stopwatch.StartNew();
    for (var i = 0; i < preprocessed.Count; i += batch)
    {
        extractor.ExtractPreprocessedAsync(preprocessed.Skip(i).Take(batch).ToList()).GetAwaiter().GetResult();
    }

    return preprocessed.Count / sw.Elapsed.TotalSeconds;
}

var before = ModelOnly();
await using var store = EmbeddedVectorStore.Create(extractor.Dimension, extractor.ModelId);
var result = await new FolderIndexer(extractor, store).IndexAsync(folder, new FolderIndexOptions { Recursive = false, DecodeWorkers = decodeWorkers });
var after = ModelOnly();
var model = (before + after) / 2;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{{\"images\": {preprocessed.Count}, \"batch\": {batch}, \"decodeWorkers\": {decodeWorkers}, \"precision\": \"{(precision == ComputePrecision.BFloat16 ? "bf16" : "fp32")}\", " +
    $"\"modelOnlyImagesPerSecond\": {model:F3}, \"modelOnlyBefore\": {before:F3}, \"modelOnlyAfter\": {after:F3}, " +
    $"\"endToEndImagesPerSecond\": {result.ImagesPerSecond:F3}, \"indexed\": {result.Indexed}, \"ratio\": {result.ImagesPerSecond / model:F3}, " +
    $"\"decodeAndPreprocessMsPerImage\": {decodeMsPerImage:F1}}}"));
return 0;
