// The shortest useful program: index a folder, then print the images most like a query image.
// Usage: dotnet run --project samples/QuickStart -- <folder> <query-image>
using ImageSimilarity.Imaging;
using ImageSimilarity.Indexing;
using ImageSimilarity.OnnxRuntime;
using ImageSimilarity.Search;
using ImageSimilarity.Storage;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: QuickStart <folder> <query-image>");
    return 2;
}

// The pretrained ResNet18 (512 floats per image) from the NuGet restore: no download, works offline.
// For VGG16 fc2 (4096 floats, the Python recipe's features; weights downloaded once, 528 MB):
//   using var extractor = await ImageSimilarity.Extraction.Vgg16FeatureExtractor.CreateAsync();
using var extractor = await ResNet18Model.LoadAsync();

// An index file that survives restarts; re-running only extracts new or changed images.
var indexPath = Path.Combine(args[0], ".imagesimilarity.db");
await using var store = await EmbeddedVectorStore.OpenOrCreateAsync(indexPath, extractor.Dimension, extractor.ModelId);

var indexed = await new FolderIndexer(extractor, store).IndexAsync(args[0]);
Console.WriteLine($"{indexed.Indexed} indexed, {indexed.Unchanged} unchanged, {indexed.Failed} failed, {indexed.Skipped} skipped");

var searcher = new SimilaritySearcher(extractor, store);
foreach (var match in await searcher.SearchAsync(ImageInput.FromFile(args[1]), new SearchOptions { Store = new VectorSearchOptions { Top = 9 } }))
{
    Console.WriteLine($"{match.Similarity:F4}  {match.Id}");
}

return 0;
