using System.CommandLine;
using ImageSimilarity.PgVector;
using ImageSimilarity.Storage;

namespace SearchByImage.Postgres;

/// <summary><c>import --store postgres</c>: vectors computed elsewhere into a PostgreSQL table (binary COPY).</summary>
internal static class PostgresImport
{
    public static Task<int> RunAsync(ParseResult parseResult, PostgresStoreOptions stores, int dimension, string modelId, IReadOnlyList<VectorRecord> records, CancellationToken cancellationToken)
        => PostgresStoreOptions.RunAsync(async () =>
        {
            await using var dataSource = stores.OpenDataSource(parseResult);
            await using var store = new PgVectorStore(dataSource, dimension, modelId, stores.StoreOptions(parseResult));
            await store.UpsertAsync(records, cancellationToken).ConfigureAwait(false);
            if (IndexSettings.PresetOf(new Dictionary<string, string>(), modelId) is { } preset)
            {
                // search <image> then preprocesses queries as the imported vectors were made.
                await store.SetPropertiesAsync(new Dictionary<string, string> { [IndexProperties.Preset] = preset }, cancellationToken).ConfigureAwait(false);
            }

            Console.WriteLine($"imported {records.Count} vectors of {dimension} floats into table {store.TableName} (model '{modelId}')");
            return 0;
        });
}
