using System.CommandLine;
using ImageSimilarity.PgVector;

namespace SearchByImage.Postgres;

/// <summary><c>approximate-index</c>: build the HNSW index over binary codes that <c>search --store postgres --approximate</c> uses.</summary>
internal static class ApproximateIndexCommand
{
    public static Command Create()
    {
        var stores = new PostgresStoreOptions();
        var codes = new Option<string>("--codes") { Description = "How vectors become bit codes: median (each bit splits the collection in half; default) or sign (pgvector's binary_quantize).", DefaultValueFactory = _ => "median" };
        codes.AcceptOnlyFromAmong("median", "sign");
        var command = new Command("approximate-index", "PostgreSQL: build (or rebuild) the HNSW index over binary codes for fast approximate search at 4096 dimensions.") { codes };
        stores.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => CommandErrors.RunAsync(() => PostgresStoreOptions.RunAsync(async () =>
        {
            await using var dataSource = stores.OpenDataSource(parseResult);
            await using var store = await PgVectorStore.OpenExistingAsync(dataSource, stores.StoreOptions(parseResult), cancellationToken).ConfigureAwait(false);
            var kind = parseResult.GetValue(codes) == "sign" ? BinaryCodeKind.Sign : BinaryCodeKind.Median;
            await store.CreateApproximateIndexAsync(new ApproximateIndexOptions { CodeKind = kind }, new Progress<string>(Console.Error.WriteLine), cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"approximate index over {kind.ToString().ToLowerInvariant()} codes built on table {store.TableName}");
            return 0;
        })));
        return command;
    }
}
