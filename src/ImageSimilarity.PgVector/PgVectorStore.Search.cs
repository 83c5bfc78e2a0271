using System.Text;
using ImageSimilarity.Storage;
using Npgsql;
using NpgsqlTypes;

namespace ImageSimilarity.PgVector;

public sealed partial class PgVectorStore
{
    /// <inheritdoc/>
    /// <remarks>Searches as <see cref="PgVectorStoreOptions.DefaultSearch"/> says (exact unless configured otherwise).</remarks>
    /// <exception cref="PgVectorStoreException">The server is not reachable or the query timed out.</exception>
    public Task<IReadOnlyList<VectorSearchResult>> SearchAsync(ReadOnlyMemory<float> query, VectorSearchOptions? options = null, CancellationToken cancellationToken = default)
        => SearchAsync(query, new PgVectorSearchOptions { Store = options ?? VectorSearchOptions.Default, Mode = _options.DefaultSearch.Mode, Candidates = _options.DefaultSearch.Candidates }, cancellationToken);

    /// <summary>Finds the records most similar to <paramref name="query"/>, best first, exactly or approximately.</summary>
    /// <param name="query">The query vector; it need not be normalised.</param>
    /// <param name="search">Exact or approximate, candidates, and the store options; <see langword="null"/> for exact with <see cref="VectorSearchOptions.Default"/>.</param>
    /// <param name="cancellationToken">Cancels the query in the database.</param>
    /// <returns>The results, by descending similarity.</returns>
    /// <remarks>
    /// Runs in the database. With <see cref="PgVectorSearchMode.Approximate"/>, the HNSW index over binary codes proposes
    /// <see cref="PgVectorSearchOptions.Candidates"/> records (filters applied while scanning) that are re-ranked
    /// exactly in the same query; otherwise every record is compared. Similarities are exact cosine similarities either
    /// way; only the approximate mode can miss a record.
    /// </remarks>
    /// <exception cref="ArgumentException">The query has the wrong length, a NaN/infinite value, or is all zero.</exception>
    /// <exception cref="PgVectorStoreException">The server is not reachable or the query timed out.</exception>
    public async Task<IReadOnlyList<VectorSearchResult>> SearchAsync(ReadOnlyMemory<float> query, PgVectorSearchOptions? search, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        search ??= PgVectorSearchOptions.Default;
        var options = search.Store;
        var unit = VectorCodec.Normalize(query.Span, Dimension, "The query vector", nameof(query));
        var approximate = search.Mode == PgVectorSearchMode.Approximate;
        var candidates = Math.Max(options.Top, search.Candidates);
        await InitializeAsync(cancellationToken).ConfigureAwait(false);

        return await RunAsync(
            async connection =>
            {
                var filters = new StringBuilder("TRUE");
                using var batch = new NpgsqlBatch(connection) { Timeout = _options.CommandTimeoutSeconds };
                var select = new NpgsqlBatchCommand();
                select.Parameters.AddWithValue("q", NpgsqlDbType.Array | NpgsqlDbType.Real, unit);
                select.Parameters.AddWithValue("k", NpgsqlDbType.Integer, options.Top);
                if (options.MetadataEquals is { Count: > 0 } filter)
                {
                    filters.Append(" AND metadata @> @filter::jsonb");
                    select.Parameters.AddWithValue("filter", NpgsqlDbType.Text, VectorCodec.ToJson(filter));
                }

                if (options.ExcludeIds is { Count: > 0 } exclude)
                {
                    filters.Append(" AND NOT (id = ANY(@exclude))");
                    select.Parameters.AddWithValue("exclude", NpgsqlDbType.Array | NpgsqlDbType.Text, exclude.ToArray());
                }

                var threshold = "TRUE";
                if (options.MinSimilarity is { } min)
                {
                    threshold = "(embedding <=> @q::" + _vectorType + ") <= @maxdist";
                    select.Parameters.AddWithValue("maxdist", NpgsqlDbType.Double, 1.0 - min);
                }

                NpgsqlTransaction? transaction = null;
                if (approximate)
                {
                    // Settings for this transaction only: ef_search bounds the candidate list of the HNSW scan, and
                    // the iterative scan keeps going when filters reject candidates (pgvector 0.8).
                    transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                    var settings = new NpgsqlBatchCommand("SELECT set_config('hnsw.ef_search', @ef, true), set_config('hnsw.iterative_scan', 'relaxed_order', true)");
                    settings.Parameters.AddWithValue("ef", NpgsqlDbType.Text, Math.Clamp(candidates, 40, 1000).ToString(System.Globalization.CultureInfo.InvariantCulture));
                    batch.BatchCommands.Add(settings);
                    // Another process may have rebuilt the index with new medians: the query code must use the same.
                    var codes = await ReadCodeStateAsync(connection, transaction, share: null, cancellationToken).ConfigureAwait(false);
                    select.Parameters.AddWithValue("code", NpgsqlDbType.Varbit, VectorCodec.Code(unit, codes.Thresholds));
                    select.Parameters.AddWithValue("candidates", NpgsqlDbType.Integer, candidates);
                    select.CommandText = $"""
                        SELECT id, metadata::text, 1 - (embedding <=> @q::{_vectorType}) FROM (
                            SELECT id, metadata, embedding FROM {Table}
                            WHERE {filters}
                            ORDER BY code <~> @code::bit({Dimension}) LIMIT @candidates) candidates
                        WHERE {threshold}
                        ORDER BY embedding <=> @q::{_vectorType} LIMIT @k
                        """;
                }
                else
                {
                    select.CommandText = $"""
                        SELECT id, metadata::text, 1 - (embedding <=> @q::{_vectorType}) FROM {Table}
                        WHERE {filters} AND {threshold}
                        ORDER BY embedding <=> @q::{_vectorType} LIMIT @k
                        """;
                }

                batch.BatchCommands.Add(select);
                batch.Transaction = transaction;
                var results = new List<VectorSearchResult>(Math.Min(options.Top, 1024));
                try
                {
                    await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    if (approximate)
                    {
                        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                    }

                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        results.Add(new VectorSearchResult(reader.GetString(0), (float)reader.GetDouble(2), VectorCodec.FromJson(reader.GetString(1))));
                    }
                }
                finally
                {
                    if (transaction is not null)
                    {
                        await transaction.DisposeAsync().ConfigureAwait(false);
                    }
                }

                return (IReadOnlyList<VectorSearchResult>)results;
            },
            "search",
            initialized: true,
            cancellationToken).ConfigureAwait(false);
    }
}
