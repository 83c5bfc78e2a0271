using System.Globalization;
using ImageSimilarity.PgVector;
using ImageSimilarity.PgVector.Distributed;
using ImageSimilarity.TestSupport;
using Npgsql;

// Usage: worker <connection string> <table> <lease seconds> <delay ms per batch> <worker id>
// Works through the job table with the small pooling extractor (48 floats from the real decoded image), printing
// one line per finished batch so the test can see progress, then a summary line.
if (args.Length != 5)
{
    Console.Error.WriteLine("usage: worker <connection> <table> <lease-seconds> <delay-ms> <worker-id>");
    return 2;
}

await using var dataSource = NpgsqlDataSource.Create(args[0]);
using var extractor = new PoolingFeatureExtractor { DelayPerBatch = TimeSpan.FromMilliseconds(int.Parse(args[3], CultureInfo.InvariantCulture)) };
await using var store = new PgVectorStore(dataSource, extractor.Dimension, extractor.ModelId, new PgVectorStoreOptions { TableName = args[1] });
var indexer = new DistributedIndexer(store, new DistributedIndexOptions
{
    LeaseDuration = TimeSpan.FromSeconds(double.Parse(args[2], CultureInfo.InvariantCulture)),
    WorkerId = args[4],
    BatchSize = 4,
});
var progress = new Progress<DistributedIndexStatus>(s => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"batch done: {s.Done}/{s.Batches}")));
var result = await indexer.WorkAsync(extractor, progress);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"worker {args[4]}: {result.Batches} batches, {result.Extracted} extracted, {result.Reused} reused, {result.Failed} failed"));
return 0;
