using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;
using SkiaSharp;

namespace ImageSimilarity.PgVector.Benchmarks;

/// <summary>
/// <c>features --images DIR --count N --out FILE</c>: N random augmentations of the images in DIR through VGG16 (random
/// seeded weights, bf16) to fc2, written as raw little-endian float32 rows of 4096; resumable (appends to FILE).
/// </summary>
internal static class FeaturesCommand
{
    public static string EnsureWeights()
    {
        var weights = Path.Combine(Path.GetTempPath(), "imgsim-random-vgg16-seed7.safetensors");
        if (!File.Exists(weights))
        {
            RandomVgg16Weights.Write(weights + ".tmp", seed: 7);
            File.Move(weights + ".tmp", weights);
        }

        return weights;
    }

    public static async Task<int> RunAsync(string images, int count, string output, int threads)
    {
        var files = Directory.GetFiles(images).Order(StringComparer.Ordinal).ToArray();
        var sources = files.Select(f => SKBitmap.Decode(f) ?? throw new InvalidDataException($"cannot decode {f}")).ToArray();
        var weights = EnsureWeights();
        using var extractor = await Vgg16FeatureExtractor.CreateAsync(new Vgg16ExtractorOptions { WeightsPath = weights, Precision = ComputePrecision.BFloat16, BatchSize = 8, ThreadCount = threads });
        var done = File.Exists(output) ? (int)(new FileInfo(output).Length / (4096 * sizeof(float))) : 0;
        await using var file = new FileStream(output, FileMode.Append, FileAccess.Write);
        var clock = Stopwatch.StartNew();
        for (var start = done; start < count; start += 8)
        {
            var batch = new List<ImageInput>();
            for (var i = start; i < Math.Min(count, start + 8); i++)
            {
                // Row i is always the same augmentation of the same image, so an interrupted run resumes identically.
                var random = new Random(i);
                batch.Add(ImageInput.FromBytes(Augment.Jpeg(sources[i % sources.Length], random), $"aug{i}"));
            }

            var vectors = await extractor.ExtractAsync(batch);
            foreach (var v in vectors)
            {
                file.Write(MemoryMarshal.AsBytes(v.AsSpan()));
            }

            await file.FlushAsync();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{start + vectors.Count}/{count} ({(start + vectors.Count - done) / clock.Elapsed.TotalSeconds:F2} img/s)"));
        }

        return 0;
    }
}
