using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

// ML.NET's documented way to get ResNet18 features in .NET: LoadImages -> ResizeImages(224, 224) -> ExtractPixels
// -> DnnFeaturizeImage(ResNet18), with the same NuGet package's model files. Prints one JSON line per measurement
// (end to end: files to vectors; model only: pixels already extracted), like the other peers, and writes the
// features (N x 512 float32, in the order of the sorted file names) for the comparison with the library.
//
//   MlNetResNet18Peer IMAGE_FOLDER [--repeat 3] [--features OUT.f32]
if (args.Length == 0 || args[0].StartsWith('-'))
{
    Console.Error.WriteLine("usage: MlNetResNet18Peer IMAGE_FOLDER [--repeat 3] [--features OUT.f32]");
    return 2;
}

var folder = Path.GetFullPath(args[0]);
var repeat = int.Parse(Option("--repeat", "3"), CultureInfo.InvariantCulture);
var featuresPath = Option("--features", string.Empty);
var files = Directory.GetFiles(folder).Order(StringComparer.Ordinal).ToArray();
var ml = new MLContext(seed: 1);
var rows = files.Select(f => new ImageRow { Path = f }).ToList();
var data = ml.Data.LoadFromEnumerable(rows);

var pixels = ml.Transforms.LoadImages("Image", folder, nameof(ImageRow.Path))
    .Append(ml.Transforms.ResizeImages("Image", 224, 224))
    .Append(ml.Transforms.ExtractPixels("Pixels", "Image"));
var featurize = ml.Transforms.DnnFeaturizeImage("Features", m => m.ModelSelector.ResNet18(ml, m.OutputColumn, m.InputColumn), "Pixels");
var load = Stopwatch.StartNew();
var endToEnd = pixels.Append(featurize).Fit(data);
var loadSeconds = load.Elapsed.TotalSeconds;

float[][] features = [];
var e2e = Median(repeat, () =>
{
    var transformed = endToEnd.Transform(data);
    features = transformed.GetColumn<VBuffer<float>>("Features").Select(v => v.DenseValues().ToArray()).ToArray();
    return features.Length;
});

// Model only: the pixels cached in memory first, then only DnnFeaturizeImage runs.
var cachedPixels = ml.Data.LoadFromEnumerable(
    pixels.Fit(data).Transform(data).GetColumn<VBuffer<float>>("Pixels").Select(v => new PixelRow { Pixels = v.DenseValues().ToArray() }).ToList(),
    SchemaWithPixels(ml));
var modelOnly = featurize.Fit(cachedPixels);
var model = Median(repeat, () => modelOnly.Transform(cachedPixels).GetColumn<VBuffer<float>>("Features").Count());

Print("end-to-end", e2e);
Print("model-only", model);
if (featuresPath.Length > 0)
{
    using var stream = File.Create(featuresPath);
    foreach (var f in features)
    {
        stream.Write(MemoryMarshal.AsBytes(f.AsSpan()));
    }
}

return 0;

void Print(string mode, double seconds) => Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
{
    ["peer"] = "mlnet-dnnfeaturizeimage",
    ["version"] = typeof(MLContext).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false).OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion.Split('+')[0] ?? "?",
    ["model"] = "resnet18",
    ["mode"] = mode,
    ["images"] = files.Length,
    ["load_seconds"] = loadSeconds,
    ["seconds"] = seconds,
    ["images_per_second"] = files.Length / seconds,
}));

string Option(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

static double Median(int n, Func<int> run)
{
    if (run() == 0)
    {
        throw new InvalidOperationException("No features were produced.");
    }

    var times = new List<double>();
    for (var i = 0; i < n; i++)
    {
        var sw = Stopwatch.StartNew();
        run();
        times.Add(sw.Elapsed.TotalSeconds);
    }

    times.Sort();
    return times[times.Count / 2];
}

static SchemaDefinition SchemaWithPixels(MLContext ml)
{
    var schema = SchemaDefinition.Create(typeof(PixelRow));
    schema[nameof(PixelRow.Pixels)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 3, 224, 224);
    return schema;
}

internal sealed class ImageRow
{
    public string Path { get; set; } = string.Empty;
}

internal sealed class PixelRow
{
    public float[] Pixels { get; set; } = [];
}
