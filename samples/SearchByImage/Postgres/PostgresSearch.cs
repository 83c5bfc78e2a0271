using System.CommandLine;
using ImageSimilarity.Imaging;
using ImageSimilarity.PgVector;
using ImageSimilarity.Storage;
using SearchByImage.Rendering;

namespace SearchByImage.Postgres;

/// <summary><c>search --store postgres</c>: the search runs in the database, exact or (with <c>--approximate</c>) through the HNSW index over binary codes.</summary>
internal sealed class PostgresSearch
{
    public Option<bool> Approximate { get; } = new("--approximate") { Description = "postgres: search the HNSW index over binary codes and re-rank exactly (build it with 'approximate-index')." };

    public Option<int> Candidates { get; } = new("--candidates") { Description = "postgres --approximate: candidates re-ranked exactly (more: better recall, slower).", DefaultValueFactory = _ => 200 };

    public void AddTo(Command command)
    {
        command.Options.Add(Approximate);
        command.Options.Add(Candidates);
    }

    public Task<int> RunAsync(ParseResult parseResult, PostgresStoreOptions stores, ModelOptions model, ModelSelection selection, string? image, string? id, int top, float? minScore, bool excludeSelf, bool json, string? sheet, string? html, CancellationToken cancellationToken)
        => PostgresStoreOptions.RunAsync(async () =>
        {
            if (image is not null && !File.Exists(image))
            {
                throw new IOException($"query image '{image}' does not exist");
            }

            await using var dataSource = stores.OpenDataSource(parseResult);
            await using var store = await PgVectorStore.OpenExistingAsync(dataSource, stores.StoreOptions(parseResult), cancellationToken).ConfigureAwait(false);
            var options = new PgVectorSearchOptions
            {
                Store = new VectorSearchOptions
                {
                    Top = top,
                    MinSimilarity = minScore,
                    ExcludeIds = excludeSelf && id is not null ? new HashSet<string>(StringComparer.Ordinal) { id } : null,
                },
                Mode = parseResult.GetValue(Approximate) ? PgVectorSearchMode.Approximate : PgVectorSearchMode.Exact,
                Candidates = Math.Clamp(parseResult.GetValue(Candidates), 1, 10_000),
            };
            ReadOnlyMemory<float> query;
            string queryPath;
            if (id is not null)
            {
                var stored = await store.GetAsync(id, cancellationToken).ConfigureAwait(false)
                    ?? throw new ArgumentException($"table '{store.TableName}' has no image with id '{id}'");
                query = stored.Vector;
                queryPath = stored.Metadata.GetValueOrDefault(RecordMetadata.Path) ?? id;
            }
            else
            {
                queryPath = image!;
                var properties = await store.GetPropertiesAsync(cancellationToken).ConfigureAwait(false);
                var extractorOptions = model.Read(parseResult, properties.GetValueOrDefault(IndexProperties.WeightsPath), properties.GetValueOrDefault(IndexProperties.Preset), properties.GetValueOrDefault(IndexProperties.Precision));
                var loaded = await selection.LoadAsync(selection.Resolve(parseResult, store.TableName, properties), parseResult, model, extractorOptions, properties, json ? null : new DownloadProgress(), cancellationToken).ConfigureAwait(false);
                using var extractor = loaded.Extractor;
                if (!string.Equals(store.ModelId, extractor.ModelId, StringComparison.Ordinal))
                {
                    throw new ArgumentException($"table '{store.TableName}' holds vectors of model '{store.ModelId}', but these settings make '{extractor.ModelId}': pass the --model/--weights/--preset it was built with");
                }

                query = (await extractor.ExtractAsync([ImageInput.FromFile(queryPath)], cancellationToken).ConfigureAwait(false))[0];
                if (excludeSelf)
                {
                    // The query file itself, when it is indexed: the same content hash.
                    var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(queryPath, cancellationToken).ConfigureAwait(false)));
                    options = new PgVectorSearchOptions { Store = new VectorSearchOptions { Top = top + 1, MinSimilarity = minScore }, Mode = options.Mode, Candidates = options.Candidates };
                    var all = await store.SearchAsync(query, options, cancellationToken).ConfigureAwait(false);
                    return Write(all.Where(r => r.Metadata.GetValueOrDefault(RecordMetadata.Sha256) != hash).Take(top).ToList(), store, queryPath, image ?? id!, json, sheet, html);
                }
            }

            var results = await store.SearchAsync(query, options, cancellationToken).ConfigureAwait(false);
            return Write(results, store, queryPath, image ?? id!, json, sheet, html);
        });

    private static int Write(IReadOnlyList<VectorSearchResult> results, PgVectorStore store, string queryPath, string queryName, bool json, string? sheet, string? html)
    {
        var hits = SearchHit.From(results);
        if (json)
        {
            JsonOutput.Write(writer =>
            {
                writer.WriteStartObject();
                writer.WriteString("query", queryName);
                writer.WriteString("table", store.TableName);
                writer.WriteString("model", store.ModelId);
                SearchHit.WriteJson(writer, hits);
                writer.WriteEndObject();
            });
        }
        else
        {
            SearchHit.WriteTable(hits);
        }

        if (sheet is not null)
        {
            ResultSheet.Write(sheet, queryPath, hits);
            Console.Error.WriteLine($"sheet: {Path.GetFullPath(sheet)}");
        }

        if (html is not null)
        {
            HtmlReport.Write(html, queryPath, hits, $"table {store.TableName}, model {store.ModelId}");
            Console.Error.WriteLine($"html: {Path.GetFullPath(html)}");
        }

        return 0;
    }
}
