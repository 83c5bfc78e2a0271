using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using ImageSimilarity.Extraction;

namespace ImageSimilarity.Benchmarks;

/// <summary>
/// Random VGG16 weights for the speed benchmarks (the network's speed does not depend on the values).
/// </summary>
/// <remarks>
/// <para>Extraction uses, in order: <c>$IMAGESIMILARITY_BENCH_WEIGHTS</c> (any file the extractor reads), else a
/// seeded random safetensors file written here into a temporary folder (torchvision names, Kaiming-scaled uniform
/// values so activations stay O(1); about 2 s, 528 MB, deleted at exit).</para>
/// <para>Weight loading needs the three real <c>torch.save</c> formats: <c>$IMAGESIMILARITY_BENCH_WEIGHTS_DIR</c> (a folder
/// written by <c>tests/reference/vgg16_reference.py full DIR</c>), else the folder of
/// <c>$IMAGESIMILARITY_BENCH_WEIGHTS</c> when it holds them, else the reference script is run with
/// <c>/usr/bin/python3</c> (Debian's torch) into a temporary folder (about 20 s).</para>
/// </remarks>
internal static class BenchmarkWeights
{
    public const string WeightsVariable = "IMAGESIMILARITY_BENCH_WEIGHTS";
    public const string WeightsDirectoryVariable = "IMAGESIMILARITY_BENCH_WEIGHTS_DIR";
    public static readonly string[] ReferenceFiles = ["vgg16_legacy.pth", "vgg16_zip.pth", "vgg16_timm.safetensors"];

    private static readonly Lock Gate = new();
    private static string? _generatedFile;
    private static string? _referenceDirectory;

    /// <summary>Gets a weights file for extraction benchmarks.</summary>
    public static string ForExtraction()
    {
        var configured = Environment.GetEnvironmentVariable(WeightsVariable);
        if (!string.IsNullOrEmpty(configured))
        {
            return File.Exists(configured) ? configured : throw new FileNotFoundException($"${WeightsVariable} names a missing file.", configured);
        }

        lock (Gate)
        {
            if (_generatedFile is null)
            {
                var directory = TempDirectory();
                _generatedFile = Path.Combine(directory, "vgg16_random.safetensors");
                WriteRandomSafetensors(_generatedFile, seed: 1);
            }

            return _generatedFile;
        }
    }

    /// <summary>Gets a folder holding <see cref="ReferenceFiles"/> (legacy .pth, zip .pth, timm safetensors).</summary>
    /// <exception cref="InvalidOperationException">None is configured and the reference script cannot run.</exception>
    public static string ForLoading()
    {
        foreach (var candidate in new[]
                 {
                     Environment.GetEnvironmentVariable(WeightsDirectoryVariable),
                     Path.GetDirectoryName(Environment.GetEnvironmentVariable(WeightsVariable) ?? string.Empty),
                 })
        {
            if (!string.IsNullOrEmpty(candidate) && ReferenceFiles.All(f => File.Exists(Path.Combine(candidate, f))))
            {
                return candidate;
            }
        }

        lock (Gate)
        {
            if (_referenceDirectory is null)
            {
                var directory = TempDirectory();
                var script = Path.Combine(RepositoryRoot(), "tests", "reference", "vgg16_reference.py");
                var start = new ProcessStartInfo("/usr/bin/python3") { ArgumentList = { script, "full", directory }, RedirectStandardOutput = true };
                using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start /usr/bin/python3.");
                process.StandardOutput.ReadToEnd();
                if (!process.WaitForExit(TimeSpan.FromMinutes(15)))
                {
                    process.Kill(entireProcessTree: true);
                    throw new TimeoutException($"{script} did not finish within 15 minutes and was killed.");
                }

                if (process.ExitCode != 0)
                {
                    throw new InvalidOperationException(
                        $"{script} failed (exit {process.ExitCode}); it needs Debian's python3-torchvision (eng/install-prerequisites.sh --test), "
                        + $"or set ${WeightsDirectoryVariable} to a folder holding {string.Join(", ", ReferenceFiles)}.");
                }

                _referenceDirectory = directory;
            }

            return _referenceDirectory;
        }
    }

    /// <summary>
    /// Writes VGG16 (up to fc2) as float32 safetensors with torchvision names and seeded Kaiming-scaled uniform values.
    /// </summary>
    public static void WriteRandomSafetensors(string path, int seed)
    {
        var tensors = Vgg16Network.ExpectedParameters;
        var header = new StringBuilder("{");
        long offset = 0;
        foreach (var (name, shape) in tensors)
        {
            var bytes = shape.Aggregate(1L, (a, b) => a * b) * sizeof(float);
            header.Append(CultureInfo.InvariantCulture, $"\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{string.Join(',', shape)}],\"data_offsets\":[{offset},{offset + bytes}]}},");
            offset += bytes;
        }

        header.Length--;
        header.Append('}');
        while (header.Length % 8 != 0)
        {
            header.Append(' ');
        }

        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(length, header.Length);
        file.Write(length);
        file.Write(Encoding.ASCII.GetBytes(header.ToString()));
        var random = new Random(seed);
        var buffer = new float[1 << 20];
        foreach (var (name, shape) in tensors)
        {
            var count = shape.Aggregate(1L, (a, b) => a * b);

            // Kaiming (fan-in, ReLU) variance from a uniform distribution; small biases, like the reference script.
            var bound = name.EndsWith(".bias", StringComparison.Ordinal)
                ? 0.1f
                : MathF.Sqrt(3f * 2f / shape.Skip(1).Aggregate(1L, (a, b) => a * b));
            for (long done = 0; done < count; done += buffer.Length)
            {
                var n = (int)Math.Min(buffer.Length, count - done);
                for (var i = 0; i < n; i++)
                {
                    buffer[i] = ((random.NextSingle() * 2f) - 1f) * bound;
                }

                file.Write(MemoryMarshal.AsBytes(buffer.AsSpan(0, n)));
            }
        }
    }

    /// <summary>Seeded random "preprocessed" images (standard-normal-like values, as after ImageNet normalisation).</summary>
    public static Imaging.PreprocessedImage[] RandomImages(int count, int seed)
    {
        var random = new Random(seed);
        var images = new Imaging.PreprocessedImage[count];
        for (var i = 0; i < count; i++)
        {
            var data = new float[Imaging.ImagePreprocessor.InputLength];
            for (var j = 0; j < data.Length; j++)
            {
                data[j] = (random.NextSingle() * 4f) - 2f;
            }

            images[i] = new Imaging.PreprocessedImage($"random-{i}", data, 3, Imaging.ImagePreprocessor.InputSize, Imaging.ImagePreprocessor.InputSize);
        }

        return images;
    }

    public static Vgg16FeatureExtractor Load(string path, ComputePrecision precision, int batchSize, int threads = 0)
        => Vgg16FeatureExtractor.Load(path, new Vgg16ExtractorOptions { Precision = precision, BatchSize = batchSize, ThreadCount = threads });

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ImageSimilarity.sln")))
            {
                return dir.FullName;
            }
        }

        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ImageSimilarity.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Run the benchmarks from inside the repository (ImageSimilarity.sln not found above the current folder).");
    }

    private static string TempDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"imgsim-bench-weights-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return directory;
    }
}
