using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using ImageSimilarity.Imaging;
using ImageSimilarity.OnnxRuntime;
using ImageSimilarity.RealisticFeatures;
using SkiaSharp;

const string Help = """
RealisticFeatures: realistic image feature vectors for search benchmarks (docs/benchmarks.md).

Takes real seed images, makes seeded random augmentations of each with SkiaSharp (crop 60-100 % of the area,
horizontal flip, rescale to a shorter side of 160-640 px, brightness/contrast/saturation, JPEG quality 70-95),
and runs them through the pretrained ResNet18 of ImageSimilarity.OnnxRuntime (its own preprocessing), writing
in one pass:
  resnet18-512.f32    the standard 512-d vector (global average pool), N x 512 float32 little-endian, row-major
  resnet18-4096.f32   4096-d non-negative ReLU features: the last ReLU (ReLU393, 512 x 7 x 7) pooled over a
                      2x2 grid (cells [0,4) and [3,7) per axis), average then max: 512*4 + 512*4 floats
  features.json       count, dims, seed, source image and augmentation of each row, model, CPU, timing
  STATUS              "READY <paths>" once every file is complete (written last)
Vectors are not normalised. Row r is augmentation r / S of seed image r % S (S = number of seed images), drawn
from a random generator seeded by (--seed, r): the same arguments give the same files.

usage: RealisticFeatures [--images DIR] [--out DIR] [--per-image 230] [--seed 20261126] [--batch 16]
                         [--threads 2] [--limit N]
  --images     folder of seed images (default: the seed sample, $IMAGESIMILARITY_SHARED/datasets/seed-sample/images
               or ../shared/datasets/seed-sample/images)
  --out        output folder (default: features)
  --per-image  augmentations per seed image (default 230: 20,240 rows from the 88 seed images)
  --limit      stop after N rows (for a quick look)
  --threads    ONNX Runtime threads (default: all cores); augmentation uses the same number of threads
""";

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(Help);
    return 0;
}

string Arg(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

int IntArg(string name, int fallback) => int.Parse(Arg(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

var shared = Environment.GetEnvironmentVariable("IMAGESIMILARITY_SHARED") ?? Path.Combine("..", "shared");
var imageFolder = Path.GetFullPath(Arg("--images", Path.Combine(shared, "datasets", "seed-sample", "images")));
var outFolder = Path.GetFullPath(Arg("--out", "features"));
var perImage = IntArg("--per-image", 230);
var seed = IntArg("--seed", 20261126);
var batchSize = IntArg("--batch", 16);
var threads = IntArg("--threads", Environment.ProcessorCount);
if (!Directory.Exists(imageFolder))
{
    Console.Error.WriteLine($"The seed image folder '{imageFolder}' does not exist; pass --images DIR or set IMAGESIMILARITY_SHARED.");
    return 2;
}

var seedFiles = Directory.GetFiles(imageFolder).Order(StringComparer.Ordinal).ToArray();
var total = seedFiles.Length * perImage;
if (args.Contains("--limit"))
{
    total = Math.Min(total, IntArg("--limit", total));
}

Directory.CreateDirectory(outFolder);
var statusPath = Path.Combine(outFolder, "STATUS");
File.WriteAllText(statusPath, $"RUNNING since {DateTime.UtcNow:O}: {total} rows, not complete yet\n");
var started = Stopwatch.StartNew();
var startedUtc = DateTime.UtcNow;

// Decode every seed once (the seed sample has no EXIF rotation; refuse one rather than get it wrong).
var seeds = new SKImage[seedFiles.Length];
for (var i = 0; i < seedFiles.Length; i++)
{
    using var codec = SKCodec.Create(seedFiles[i]) ?? throw new InvalidDataException($"SkiaSharp cannot decode '{seedFiles[i]}'.");
    if (codec.EncodedOrigin != SKEncodedOrigin.TopLeft)
    {
        throw new InvalidDataException($"'{seedFiles[i]}' has EXIF orientation {codec.EncodedOrigin}; this generator does not rotate seeds.");
    }

    using var bitmap = SKBitmap.Decode(codec);
    seeds[i] = SKImage.FromBitmap(bitmap);
}

Console.Error.WriteLine($"{seeds.Length} seed images decoded in {started.Elapsed.TotalSeconds:F1} s; {total} rows to {outFolder}");

using var model = new ResNet18Activations(threads);
var augmentations = new Augmentation[total];
var pooled = new float[batchSize * ResNet18Activations.PooledDimension];
var grid = new float[batchSize * ResNet18Activations.GridDimension];
var path512 = Path.Combine(outFolder, "resnet18-512.f32");
var path4096 = Path.Combine(outFolder, "resnet18-4096.f32");
var worstPoolCheck = 0f;
long zeros4096 = 0, zeros512 = 0;
var hashes = new HashSet<string>(StringComparer.Ordinal);

PreprocessedImage[] Prepare(int start)
{
    var count = Math.Min(batchSize, total - start);
    var batch = new PreprocessedImage[count];
    Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = threads }, i =>
    {
        var row = start + i;
        var source = seeds[row % seeds.Length];
        var random = new Random(HashCode.Combine(seed, row) ^ (row * 7919));
        var augmentation = Augmentation.Draw(source.Width, source.Height, random);
        augmentations[row] = augmentation;
        var jpeg = augmentation.ApplyAsJpeg(source);
        batch[i] = model.Preprocessor.Preprocess(ImageInput.FromBytes(jpeg, $"row {row}"));
    });
    return batch;
}

await using (var out512 = new FileStream(path512 + ".partial", FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 20))
await using (var out4096 = new FileStream(path4096 + ".partial", FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 20))
{
    var next = Task.Run(() => Prepare(0));
    for (var start = 0; start < total; start += batchSize)
    {
        var batch = await next;
        var following = start + batchSize;
        next = following < total ? Task.Run(() => Prepare(following)) : Task.FromResult(Array.Empty<PreprocessedImage>());
        worstPoolCheck = Math.Max(worstPoolCheck, model.Run(batch, pooled, grid));
        var n = batch.Length;
        var p = pooled.AsSpan(0, n * ResNet18Activations.PooledDimension);
        var g = grid.AsSpan(0, n * ResNet18Activations.GridDimension);
        out512.Write(MemoryMarshal.AsBytes(p));
        out4096.Write(MemoryMarshal.AsBytes(g));
        foreach (var v in p)
        {
            zeros512 += v == 0 ? 1 : 0;
        }

        for (var i = 0; i < n; i++)
        {
            var row = g.Slice(i * ResNet18Activations.GridDimension, ResNet18Activations.GridDimension);
            foreach (var v in row)
            {
                zeros4096 += v == 0 ? 1 : 0;
            }

            hashes.Add(Convert.ToHexString(SHA256.HashData(MemoryMarshal.AsBytes(row))));
        }

        var done = start + n;
        if (done % (batchSize * 25) == 0 || done == total)
        {
            var rate = done / started.Elapsed.TotalSeconds;
            Console.Error.WriteLine($"{done}/{total} rows, {rate:F1} rows/s, about {(total - done) / rate / 60:F0} min left");
            File.WriteAllText(statusPath, $"RUNNING since {startedUtc:O}: {done}/{total} rows, not complete yet\n");
        }
    }
}

// Check the library's own extractor gives the same 512-d vectors for the first rows (same model, same preprocessing).
using (var extractor = ResNet18Model.Load(new OnnxExtractorOptions { ThreadCount = threads }))
{
    var check = Math.Min(8, total);
    var inputs = Enumerable.Range(0, check).Select(r => ImageInput.FromBytes(augmentations[r].ApplyAsJpeg(seeds[r % seeds.Length]), $"row {r}")).ToList();
    var expected = await extractor.ExtractAsync(inputs);
    var written = new float[check * ResNet18Activations.PooledDimension];
    await using (var read = File.OpenRead(path512 + ".partial"))
    {
        read.ReadExactly(MemoryMarshal.AsBytes(written.AsSpan()));
    }

    var worst = 0f;
    for (var r = 0; r < check; r++)
    {
        for (var d = 0; d < ResNet18Activations.PooledDimension; d++)
        {
            worst = Math.Max(worst, Math.Abs(expected[r][d] - written[(r * ResNet18Activations.PooledDimension) + d]));
        }
    }

    if (worst > 1e-4f)
    {
        Console.Error.WriteLine($"The written 512-d rows differ from ResNet18Model's extractor by up to {worst}; not marking the files READY.");
        return 1;
    }

    Console.Error.WriteLine($"Check: first {check} rows equal ResNet18Model.Load().ExtractAsync (max |diff| {worst:G3}); 7x7 ReLU mean vs pool max |diff| {worstPoolCheck:G3}.");
    var info = new JsonObject
    {
        ["format"] = "raw little-endian float32, row-major, no header; vectors not normalised",
        ["count"] = total,
        ["distinct_4096"] = hashes.Count,
        ["files"] = new JsonArray(
            new JsonObject { ["path"] = "resnet18-512.f32", ["dims"] = ResNet18Activations.PooledDimension, ["what"] = "ResNet18 global average pool (Pooling395), what ResNet18Model extracts" },
            new JsonObject { ["path"] = "resnet18-4096.f32", ["dims"] = ResNet18Activations.GridDimension, ["what"] = "last ReLU (ReLU393_Output_0, 512x7x7) pooled over a 2x2 grid (cells rows/cols [0,4) and [3,7)): [0,2048) averages, [2048,4096) maxima; index c*4 + gy*2 + gx within each half" }),
        ["zero_fraction_512"] = (double)zeros512 / ((long)total * ResNet18Activations.PooledDimension),
        ["zero_fraction_4096"] = (double)zeros4096 / ((long)total * ResNet18Activations.GridDimension),
        ["seed"] = seed,
        ["per_image"] = perImage,
        ["row_rule"] = "row r = augmentation r / S of seed image r % S (S = seed image count)",
        ["seed_images"] = new JsonArray([.. seedFiles.Select(f => (JsonNode)Path.GetFileName(f))]),
        ["seed_folder"] = imageFolder,
        ["augmentation"] = "crop 60-100% of the area (aspect 3:4-4:3, uniform position), horizontal flip p=0.5, rescale to a shorter side of 160-640 px (linear + mipmaps), brightness +-0.2, contrast 0.7-1.3, saturation 0.6-1.4 (colour matrix), white background under alpha, JPEG quality 70-95; then the library's ResNet18 preprocessing (shorter side 256, centre crop 224, BGR minus the mean image)",
        ["model"] = new JsonObject
        {
            ["package"] = ResNet18Model.PackageId,
            ["version"] = ResNet18Model.PackageVersion,
            ["file"] = model.ModelPath,
            ["model_id"] = extractor.ModelId,
            ["onnxruntime"] = typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly.GetName().Version?.ToString(3),
        },
        ["cpu"] = Cpu(),
        ["cores"] = Environment.ProcessorCount,
        ["threads"] = threads,
        ["started_utc"] = startedUtc.ToString("O", CultureInfo.InvariantCulture),
        ["seconds"] = Math.Round(started.Elapsed.TotalSeconds, 1),
        ["machine_note"] = "shared 2-core machine, run under nice -n 19 while others built and tested: the time is not a benchmark",
        ["rows"] = new JsonArray([.. augmentations.Select((a, r) => (JsonNode)new JsonObject
        {
            ["row"] = r,
            ["source"] = Path.GetFileName(seedFiles[r % seeds.Length]),
            ["augmentation"] = a.Describe(),
        })]),
    };
    await File.WriteAllTextAsync(Path.Combine(outFolder, "features.json"), info.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
}

File.Move(path512 + ".partial", path512, overwrite: true);
File.Move(path4096 + ".partial", path4096, overwrite: true);
File.WriteAllText(statusPath, $"READY {path4096} {path512} {Path.Combine(outFolder, "features.json")} ({total} rows, {hashes.Count} distinct 4096-d vectors, {started.Elapsed.TotalMinutes:F1} min, finished {DateTime.UtcNow:O})\n");
Console.Error.WriteLine(File.ReadAllText(statusPath));
return 0;

static string Cpu()
    => File.Exists("/proc/cpuinfo")
        ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?"
        : RuntimeInformation.ProcessArchitecture.ToString();
