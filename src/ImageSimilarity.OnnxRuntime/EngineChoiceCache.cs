using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ImageSimilarity.Extraction;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>
/// The "auto" measurements, one small JSON file per CPU model string: <c>vgg16-&lt;model&gt;-&lt;8 hex of its SHA-256&gt;.json</c>
/// in <see cref="Vgg16AutoOptions.CacheDirectory"/>. An entry for another CPU model or core count does not count; a file
/// that cannot be read as an entry is reported (the caller warns, measures again and overwrites it).
/// </summary>
internal static class EngineChoiceCache
{
    private const int FormatVersion = 1;

    public static string PathFor(string directory, CpuFeatures cpu)
    {
        var slug = new StringBuilder();
        foreach (var c in cpu.ModelName.ToLowerInvariant())
        {
            if (char.IsAsciiLetterOrDigit(c))
            {
                slug.Append(c);
            }
            else if (slug.Length > 0 && slug[^1] != '-')
            {
                slug.Append('-');
            }
        }

        var name = slug.ToString().Trim('-');
        if (name.Length > 60)
        {
            name = name[..60].TrimEnd('-');
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(cpu.ModelName)))[..8];
        return Path.Combine(directory, $"vgg16-{(name.Length > 0 ? name : "cpu")}-{hash}.json");
    }

    /// <summary>Reads the entry for this CPU.</summary>
    /// <returns>The measurements, or <see langword="null"/> when there is no usable entry; <paramref name="problem"/> says why a file that exists was not used.</returns>
    public static IReadOnlyList<Vgg16EngineMeasurement>? Read(string path, CpuFeatures cpu, out string? problem)
    {
        problem = null;
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new FormatException("not a JSON object");
            if ((int?)root["version"] != FormatVersion)
            {
                throw new FormatException($"version is not {FormatVersion}");
            }

            var model = (string?)root["cpuModel"] ?? throw new FormatException("cpuModel is missing");
            if (!string.Equals(model, cpu.ModelName, StringComparison.Ordinal))
            {
                problem = $"it was measured on CPU '{model}', not '{cpu.ModelName}'";
                return null;
            }

            var cores = (int?)root["processorCount"] ?? throw new FormatException("processorCount is missing");
            if (cores != Environment.ProcessorCount)
            {
                problem = string.Create(CultureInfo.InvariantCulture, $"it was measured with {cores} cores, this process has {Environment.ProcessorCount}");
                return null;
            }

            var results = root["results"] as JsonArray ?? throw new FormatException("results is missing");
            var list = new List<Vgg16EngineMeasurement>();
            foreach (var item in results)
            {
                var engine = ParseEngine((string?)item?["engine"]);
                var precision = ParsePrecision((string?)item?["precision"]);
                var speed = (double?)item?["imagesPerSecond"] ?? throw new FormatException("imagesPerSecond is missing");
                if (!double.IsFinite(speed) || speed <= 0)
                {
                    throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"imagesPerSecond {speed} is not a positive number"));
                }

                list.Add(new Vgg16EngineMeasurement(engine, precision, speed));
            }

            if (list.Count == 0)
            {
                throw new FormatException("results is empty");
            }

            return list;
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            problem = $"it is not a valid cache file ({ex.Message})";
            return null;
        }
    }

    /// <summary>Writes the entry atomically (a temporary file renamed over the old one).</summary>
    /// <exception cref="IOException">The folder or file cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder or file cannot be written.</exception>
    public static void Write(string path, CpuFeatures cpu, int batchSize, IReadOnlyList<Vgg16EngineMeasurement> results)
    {
        var root = new JsonObject
        {
            ["version"] = FormatVersion,
            ["cpuModel"] = cpu.ModelName,
            ["cpu"] = cpu.Summary,
            ["processorCount"] = Environment.ProcessorCount,
            ["measuredUtc"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            ["batchSize"] = batchSize,
            ["library"] = typeof(EngineChoiceCache).Assembly.GetName().Version?.ToString(3),
            ["results"] = new JsonArray([.. results.Select(r => (JsonNode)new JsonObject
            {
                ["engine"] = EngineName(r.Engine),
                ["precision"] = PrecisionName(r.Precision),
                ["imagesPerSecond"] = Math.Round(r.ImagesPerSecond, 3),
            })]),
        };
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = path + "." + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + ".tmp";
        try
        {
            File.WriteAllText(temporary, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    public static string EngineName(Vgg16Engine engine) => engine == Vgg16Engine.OnnxRuntime ? "onnxruntime" : "torchsharp";

    public static string PrecisionName(ComputePrecision precision) => precision == ComputePrecision.BFloat16 ? "bf16" : "fp32";

    private static Vgg16Engine ParseEngine(string? value) => value switch
    {
        "torchsharp" => Vgg16Engine.TorchSharp,
        "onnxruntime" => Vgg16Engine.OnnxRuntime,
        _ => throw new FormatException($"engine '{value}' is not torchsharp or onnxruntime"),
    };

    private static ComputePrecision ParsePrecision(string? value) => value switch
    {
        "fp32" => ComputePrecision.Float32,
        "bf16" => ComputePrecision.BFloat16,
        _ => throw new FormatException($"precision '{value}' is not fp32 or bf16"),
    };
}
