// A user's program that references only the ImageSimilarity.OnnxRuntime package: the pretrained ResNet18 must be
// found in the output folder (copied there by the model package's build props, which flow through ours), and no
// ML.NET assembly may be part of the build. Exits non-zero with the reason otherwise.
using ImageSimilarity.Imaging;
using ImageSimilarity.OnnxRuntime;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: OnnxPackageConsumer IMAGE IMAGE...");
    return 2;
}

var modelFolder = Path.Combine(AppContext.BaseDirectory, "DnnImageModels");
if (!File.Exists(Path.Combine(modelFolder, ResNet18Model.ModelFile)))
{
    Console.Error.WriteLine($"the ResNet18 files are not in the output folder ({modelFolder})");
    return 1;
}

var mlnet = Directory.GetFiles(AppContext.BaseDirectory, "Microsoft.ML*.dll").Select(Path.GetFileName).Where(f => f != "Microsoft.ML.OnnxRuntime.dll").ToList();
if (mlnet.Count > 0)
{
    Console.Error.WriteLine("ML.NET assemblies reached the build: " + string.Join(", ", mlnet));
    return 1;
}

using var extractor = ResNet18Model.Load(modelDirectory: modelFolder);
var vectors = await extractor.ExtractAsync(args.Select(ImageInput.FromFile).ToList());
Console.WriteLine($"{extractor.ModelId}: {vectors.Count} vectors of {vectors[0].Length} floats, first values {vectors[0][0]:F4} {vectors[0][1]:F4}");
return vectors.All(v => v.Length == 512 && v.Any(x => x > 0)) ? 0 : 1;
