using System.Globalization;
using ImageSimilarity.Storage;

// A writer process for the multi-process and kill -9 tests of the SQLite index.
// Usage: ImageSimilarity.SaveCrashHelper <index-file> <dimension> <prefix> <batches> <batch-size> [--precision half]
// Opens (or creates) the index and upserts <batches> batches (0: until killed) of <batch-size> records with ids
// "<prefix>-<batch>-<i>" and the vector WriterVectors.For(id). After each UpsertAsync returns (the batch is committed)
// it prints "committed <batch>". Exit code 0 when all batches are written.
if (args.Length < 5)
{
    Console.Error.WriteLine("usage: ImageSimilarity.SaveCrashHelper <index-file> <dimension> <prefix> <batches> <batch-size> [--precision half]");
    return 2;
}

var path = args[0];
var dimension = int.Parse(args[1], CultureInfo.InvariantCulture);
var prefix = args[2];
var batches = int.Parse(args[3], CultureInfo.InvariantCulture);
var batchSize = int.Parse(args[4], CultureInfo.InvariantCulture);
var options = new EmbeddedVectorStoreOptions { Precision = args.Length > 6 && args[6] == "half" ? VectorPrecision.Half : VectorPrecision.Single };

await using var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, dimension, WriterVectors.ModelId, options);
for (var batch = 0; batches == 0 || batch < batches; batch++)
{
    var records = new List<VectorRecord>(batchSize);
    for (var i = 0; i < batchSize; i++)
    {
        var id = $"{prefix}-{batch}-{i}";
        records.Add(new VectorRecord(id, WriterVectors.For(id, dimension), new Dictionary<string, string> { ["batch"] = batch.ToString(CultureInfo.InvariantCulture) }));
    }

    await store.UpsertAsync(records);
    Console.WriteLine($"committed {batch}");
}

return 0;
