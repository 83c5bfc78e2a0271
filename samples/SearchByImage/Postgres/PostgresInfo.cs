using System.CommandLine;
using System.Globalization;
using ImageSimilarity.PgVector;
using ImageSimilarity.PgVector.Distributed;
using ImageSimilarity.Storage;
using Spectre.Console;

namespace SearchByImage.Postgres;

/// <summary><c>info --store postgres</c>: what a PostgreSQL table holds.</summary>
internal static class PostgresInfo
{
    public static Task<int> RunAsync(ParseResult parseResult, PostgresStoreOptions stores, bool json, CancellationToken cancellationToken)
        => PostgresStoreOptions.RunAsync(async () =>
        {
            await using var dataSource = stores.OpenDataSource(parseResult);
            var storeOptions = stores.StoreOptions(parseResult);
            var info = await PgVectorStore.ReadInfoAsync(dataSource, storeOptions.TableName, cancellationToken).ConfigureAwait(false)
                ?? throw new ArgumentException($"there is no ImageSimilarity table '{storeOptions.TableName}' in {PgVectorStore.DescribeConnection(dataSource)}: index into it first, or pass --table");
            await using var store = await PgVectorStore.OpenExistingAsync(dataSource, storeOptions, cancellationToken).ConfigureAwait(false);
            var count = await store.CountAsync(cancellationToken).ConfigureAwait(false);
            var status = await new DistributedIndexer(store).GetStatusAsync(cancellationToken).ConfigureAwait(false);
            var rows = new List<(string Key, string Value)>
            {
                ("server", PgVectorStore.DescribeConnection(dataSource)),
                ("table", info.TableName),
                ("images", count.ToString(CultureInfo.InvariantCulture)),
                ("model", info.ModelId),
                ("dimension", info.Dimension.ToString(CultureInfo.InvariantCulture)),
                ("storage precision", info.Precision == VectorPrecision.Half ? "half (halfvec)" : "fp32 (vector)"),
                ("approximate index", info.HasApproximateIndex ? $"HNSW over {info.CodeKind.ToString().ToLowerInvariant()} codes" : "none (exact search only)"),
                ("preset", info.Properties.GetValueOrDefault(IndexProperties.Preset) ?? "unknown"),
                ("extraction precision", info.Properties.GetValueOrDefault(IndexProperties.Precision) ?? "unknown"),
                ("created", info.CreatedUtc.ToString("u", CultureInfo.InvariantCulture)),
                ("indexing jobs", status.Batches == 0 ? "none" : $"{status.FilesDone}/{status.Files} files done, {status.Failed} failed"),
            };

            if (json)
            {
                JsonOutput.Write(writer =>
                {
                    writer.WriteStartObject();
                    writer.WriteString("table", info.TableName);
                    writer.WriteNumber("images", count);
                    writer.WriteString("model", info.ModelId);
                    writer.WriteNumber("dimension", info.Dimension);
                    writer.WriteString("storagePrecision", info.Precision == VectorPrecision.Half ? "half" : "fp32");
                    writer.WriteString("approximateIndex", info.HasApproximateIndex ? info.CodeKind.ToString().ToLowerInvariant() : null);
                    writer.WriteString("preset", info.Properties.GetValueOrDefault(IndexProperties.Preset));
                    writer.WriteString("createdUtc", info.CreatedUtc);
                    writer.WriteNumber("jobFiles", status.Files);
                    writer.WriteNumber("jobFilesDone", status.FilesDone);
                    writer.WriteEndObject();
                });
                return 0;
            }

            var table = new Table().AddColumns("property", "value").HideHeaders();
            foreach (var (key, value) in rows)
            {
                table.AddRow(Markup.Escape(key), Markup.Escape(value));
            }

            AnsiConsole.Write(table);
            return 0;
        });
}
