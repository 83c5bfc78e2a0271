using System.Globalization;
using ImageSimilarity.Storage;

// Usage: ImageSimilarity.SaveCrashHelper <index-file> <rows> <dimension> [--once]
// Opens the index (or creates one of <rows> records), then forever: bumps the "generation" property, rewrites the
// record "marker" to a vector that encodes the generation, saves, and prints "saved <generation>".
// The test kills it at random moments and checks that the file always opens with a consistent generation.
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: ImageSimilarity.SaveCrashHelper <index-file> <rows> <dimension> [--once]");
    return 2;
}

var path = args[0];
var rows = int.Parse(args[1], CultureInfo.InvariantCulture);
var dimension = int.Parse(args[2], CultureInfo.InvariantCulture);
var once = args.Length > 3 && args[3] == "--once";

await using var store = File.Exists(path)
    ? await EmbeddedVectorStore.OpenAsync(path)
    : EmbeddedVectorStore.Create(dimension, "crash-test");
if (store.Count == 0)
{
    var random = new Random(1);
    var records = new List<VectorRecord>(rows);
    for (var i = 0; i < rows; i++)
    {
        var v = new float[dimension];
        for (var d = 0; d < dimension; d++)
        {
            v[d] = (float)random.NextDouble() + 0.01f;
        }

        records.Add(new VectorRecord($"r{i}", v));
    }

    await store.UpsertAsync(records);
    store.Properties["generation"] = "0";
    await store.UpsertAsync(new VectorRecord("marker", MarkerVector(0, dimension)));
}

var generation = int.Parse(store.Properties["generation"], CultureInfo.InvariantCulture);
do
{
    generation++;
    store.Properties["generation"] = generation.ToString(CultureInfo.InvariantCulture);
    await store.UpsertAsync(new VectorRecord("marker", MarkerVector(generation, dimension)));
    await store.SaveAsync(path);
    Console.WriteLine($"saved {generation}");
}
while (!once);

return 0;

static float[] MarkerVector(int generation, int dimension)
{
    var v = new float[dimension];
    v[generation % dimension] = 1f;
    v[(generation / dimension) % dimension] += 0.5f;
    return v;
}
