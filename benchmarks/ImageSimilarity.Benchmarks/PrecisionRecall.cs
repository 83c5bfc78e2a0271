using System.Diagnostics;
using System.Globalization;
using ImageSimilarity.Storage;

namespace ImageSimilarity.Benchmarks;

/// <summary>
/// <c>--recall FILE [queries] [rows]</c>: recall@10 of each storage precision against exact fp32 search, on real
/// feature vectors (a raw little-endian float32 file of 4096-d rows, e.g. /work/big/features/resnet18-4096.f32).
/// <c>queries</c> rows (default 200, spread evenly over the file) are held out as queries; the rest (at most
/// <c>rows</c>) are stored in an fp32, a half and an int8 store, each searched for the top 10 of every query. Also
/// prints the vector memory of each store and the median single-query time (Stopwatch, shared machine).
/// </summary>
internal static class PrecisionRecall
{
    public static async Task<int> RunAsync(string[] args)
    {
        var path = args[1];
        var queryCount = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 200;
        var maxRows = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : int.MaxValue;
        const int Dim = BenchmarkData.Dimension;
        var total = (int)Math.Min(maxRows + (long)queryCount, new FileInfo(path).Length / (Dim * 4L));
        var (queries, rows) = await BenchmarkData.ReadHeldOutAsync(path, total, queryCount).ConfigureAwait(false);
        var records = rows.Select(r => new VectorRecord($"r{r.Row}", r.Vector)).ToList();

        Console.WriteLine($"recall: {records.Count:N0} stored rows, {queries.Count} held-out queries, from {path}");
        List<HashSet<string>>? truth = null;
        foreach (var precision in new[] { VectorPrecision.Single, VectorPrecision.Half, VectorPrecision.Int8 })
        {
            await using var store = EmbeddedVectorStore.Create(Dim, "features", new EmbeddedVectorStoreOptions { Precision = precision });
            await store.UpsertAsync(records).ConfigureAwait(false);
            var answers = new List<IReadOnlyList<VectorSearchResult>>();
            var times = new List<double>();
            foreach (var q in queries)
            {
                var sw = Stopwatch.StartNew();
                answers.Add(await store.SearchAsync(q).ConfigureAwait(false));
                times.Add(sw.Elapsed.TotalMilliseconds);
            }

            truth ??= answers.Select(a => a.Select(r => r.Id).ToHashSet(StringComparer.Ordinal)).ToList();
            var hits = answers.Select((a, i) => a.Count(r => truth[i].Contains(r.Id))).Sum();
            var worst = answers.Select((a, i) => a.Count(r => truth[i].Contains(r.Id))).Min();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"recall: {precision}: recall@10 {hits / (10.0 * queries.Count):F4} (worst query {worst}/10), vector memory {store.VectorMemoryBytes / 1e6:F1} MB, median query {Benchmarking.MedianTimer.MedianOf(times):F2} ms"));
        }

        return 0;
    }
}
