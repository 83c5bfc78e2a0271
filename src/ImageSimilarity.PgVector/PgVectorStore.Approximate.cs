using System.Diagnostics;
using System.Globalization;
using Npgsql;
using NpgsqlTypes;

namespace ImageSimilarity.PgVector;

public sealed partial class PgVectorStore
{
    /// <summary>
    /// Builds (or rebuilds) the HNSW index over the records' binary codes that <see cref="PgVectorSearchMode.Approximate"/>
    /// searches use: pgvector's HNSW takes at most 2,000 dimensions of <c>vector</c>, so at 4096 dimensions it indexes a
    /// <c>bit(n)</c> code with <c>bit_hamming_ops</c>, and the search re-ranks candidates exactly.
    /// </summary>
    /// <param name="options">Code kind and HNSW parameters; <see langword="null"/> for <see cref="ApproximateIndexOptions.Default"/>.</param>
    /// <param name="progress">Receives a line per stage (medians, codes, graph); may be <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the build; the previous codes and thresholds stay in force.</param>
    /// <returns>A task that completes when the index is built.</returns>
    /// <remarks>
    /// With <see cref="BinaryCodeKind.Median"/>, the medians are estimated from a random sample of the stored vectors and
    /// kept in <c>imagesimilarity_stores</c>, every code is recomputed, and later upserts use the same medians (rebuild
    /// after the collection has changed a lot). Upserts from every process wait while codes are recomputed. The build
    /// itself is exempt from <see cref="PgVectorStoreOptions.CommandTimeout"/>.
    /// </remarks>
    /// <exception cref="PgVectorStoreException">The server is not reachable or refused the build (for example too little memory).</exception>
    public async Task CreateApproximateIndexAsync(ApproximateIndexOptions? options = null, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        options ??= ApproximateIndexOptions.Default;
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        await RunAsync(
            async connection =>
            {
                CodeState fresh;
                var clock = Stopwatch.StartNew();
                await using (var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
                {
                    var current = await ReadCodeStateAsync(connection, transaction, share: false, cancellationToken).ConfigureAwait(false);
                    float[]? thresholds = null;
                    if (options.CodeKind == BinaryCodeKind.Median)
                    {
                        thresholds = await EstimateMediansAsync(connection, transaction, options.MedianSampleSize, cancellationToken).ConfigureAwait(false);
                        progress?.Report(string.Create(CultureInfo.InvariantCulture, $"medians: {VectorCodec.Describe(thresholds)} ({clock.Elapsed.TotalSeconds:F1} s)"));
                    }

                    if (options.CodeKind == BinaryCodeKind.Median || current.Kind != BinaryCodeKind.Sign)
                    {
                        // Without the old graph, rewriting every code is one sequential pass; with it, each new code would
                        // also be inserted into the HNSW graph that is about to be replaced. Searches wait for the lock
                        // this takes until the commit (seconds), then scan codes without an index until the build ends.
                        await using (var drop = new NpgsqlCommand($"DROP INDEX IF EXISTS {ApproximateIndexName}", connection, transaction) { CommandTimeout = 0 })
                        {
                            await drop.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                        }

                        fresh = new CodeState(options.CodeKind, current.Version + 1, thresholds);
                        await SaveCodeStateAsync(connection, transaction, fresh, cancellationToken).ConfigureAwait(false);
                        var codesStarted = clock.Elapsed;
                        var rewritten = await RecomputeCodesAsync(connection, transaction, thresholds, cancellationToken).ConfigureAwait(false);
                        progress?.Report(string.Create(CultureInfo.InvariantCulture, $"codes: {rewritten} recomputed in the database ({(clock.Elapsed - codesStarted).TotalSeconds:F1} s)"));
                    }
                    else
                    {
                        fresh = current;
                    }

                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                }

                _codes = fresh;
                progress?.Report("graph: building HNSW over bit codes");
                await using (var build = new NpgsqlCommand(
                    $"""
                    SET maintenance_work_mem = '{Sanitize(options.MaintenanceWorkMemory)}';
                    DROP INDEX IF EXISTS {ApproximateIndexName};
                    CREATE INDEX {ApproximateIndexName} ON {Table} USING hnsw (code bit_hamming_ops) WITH (m = {options.M}, ef_construction = {Math.Max(options.EfConstruction, 2 * options.M)});
                    RESET maintenance_work_mem;
                    ANALYZE {Table};
                    """,
                    connection)
                { CommandTimeout = 0 })
                {
                    await build.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                progress?.Report(string.Create(CultureInfo.InvariantCulture, $"graph: done ({clock.Elapsed.TotalSeconds:F1} s in all)"));
                return 0;
            },
            "build the approximate index",
            initialized: true,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Drops the approximate index (approximate searches then scan the codes); the codes stay.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the index is gone.</returns>
    public Task DropApproximateIndexAsync(CancellationToken cancellationToken = default)
        => RunAsync(
            async connection =>
            {
                await using var drop = Command(connection, $"DROP INDEX IF EXISTS {ApproximateIndexName}");
                return await drop.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            },
            "drop the approximate index",
            initialized: true,
            cancellationToken);

    private static string Sanitize(string memory)
    {
        foreach (var c in memory)
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                throw new ArgumentException($"'{memory}' is not a memory size such as 512MB.", nameof(memory));
            }
        }

        return memory;
    }

    private async Task<float[]> EstimateMediansAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, int sampleSize, CancellationToken cancellationToken)
    {
        long count;
        await using (var command = Command(connection, $"SELECT count(*) FROM {Table}", transaction))
        {
            count = (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        if (count == 0)
        {
            throw new PgVectorStoreException($"Table '{_options.TableName}' is empty: median codes need stored vectors to estimate the medians from. Index first, or use BinaryCodeKind.Sign.");
        }

        var fraction = Math.Min(1.0, sampleSize * 1.1 / count);
        var rows = new List<float[]>(Math.Min(sampleSize, (int)Math.Min(count, int.MaxValue)));
        await using (var command = new NpgsqlCommand($"SELECT {_send}(embedding) FROM {Table} WHERE random() < @f LIMIT @n", connection, transaction) { CommandTimeout = 0 })
        {
            command.Parameters.AddWithValue("f", NpgsqlDbType.Double, fraction);
            command.Parameters.AddWithValue("n", NpgsqlDbType.Integer, sampleSize);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                rows.Add(DecodeVector(reader.GetFieldValue<byte[]>(0)));
            }
        }

        return VectorCodec.Medians(rows, Dimension);
    }

    private async Task SaveCodeStateAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CodeState state, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, "UPDATE imagesimilarity_stores SET code_kind = @k, code_version = @v, thresholds = @th WHERE table_name = @t", transaction);
        command.Parameters.AddWithValue("k", NpgsqlDbType.Text, state.Kind == BinaryCodeKind.Median ? "median" : "sign");
        command.Parameters.AddWithValue("v", NpgsqlDbType.Integer, state.Version);
        command.Parameters.AddWithValue("th", NpgsqlDbType.Array | NpgsqlDbType.Real, state.Thresholds is null ? DBNull.Value : state.Thresholds);
        command.Parameters.AddWithValue("t", NpgsqlDbType.Text, _options.TableName);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Rewrites every code in one statement inside the database: <c>binary_quantize(embedding - thresholds)</c> sets a bit
    /// exactly where the value exceeds the threshold (the difference of two floats is positive exactly when the first
    /// is larger), which is <see cref="VectorCodec.Code"/>; no vector leaves the server. The caller has dropped the HNSW
    /// index first, so the update does not insert every new code into the old graph.
    /// </summary>
    private async Task<long> RecomputeCodesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, float[]? thresholds, CancellationToken cancellationToken)
    {
        var expression = thresholds is null
            ? "binary_quantize(embedding)"
            : $"binary_quantize(embedding - @th::real[]::{_vectorType})";
        await using var update = new NpgsqlCommand($"UPDATE {Table} SET code = {expression}::bit({Dimension})", connection, transaction) { CommandTimeout = 0 };
        if (thresholds is not null)
        {
            update.Parameters.AddWithValue("th", NpgsqlDbType.Array | NpgsqlDbType.Real, thresholds);
        }

        return await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
