using ImageSimilarity.Storage;
using Npgsql;
using NpgsqlTypes;

namespace ImageSimilarity.PgVector;

public sealed partial class PgVectorStore
{
    private const string RegistryDdl = """
        CREATE TABLE IF NOT EXISTS imagesimilarity_stores (
            table_name   text PRIMARY KEY,
            dimension    integer NOT NULL,
            model_id     text NOT NULL,
            precision    text NOT NULL,
            code_kind    text NOT NULL DEFAULT 'sign',
            code_version integer NOT NULL DEFAULT 0,
            thresholds   real[],
            properties   jsonb NOT NULL DEFAULT '{}',
            created      timestamptz NOT NULL DEFAULT now())
        """;

    // Schema changes of all stores in a database are serialised by this advisory lock, so that processes starting at
    // the same time do not race on CREATE EXTENSION / CREATE TABLE.
    private const long SchemaLockKey = 0x494d5349_4d5f5047; // "IMSIM_PG"

    internal string ApproximateIndexName => Quote(_options.TableName + "_code_hnsw");

    private static string PrecisionName(VectorPrecision precision) => precision == VectorPrecision.Half ? "half" : "single";

    private static async Task<PgVectorStoreInfo?> ReadRegistrationAsync(NpgsqlDataSource dataSource, PgVectorStoreOptions options, CancellationToken cancellationToken)
    {
        try
        {
            var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                await using var command = new NpgsqlCommand(
                    """
                    SELECT s.dimension, s.model_id, s.precision, s.code_kind, s.created, s.properties::text,
                           to_regclass(quote_ident(s.table_name || '_code_hnsw')) IS NOT NULL
                    FROM imagesimilarity_stores s
                    WHERE s.table_name = @t AND to_regclass('imagesimilarity_stores') IS NOT NULL
                    """,
                    connection)
                { CommandTimeout = options.CommandTimeoutSeconds };
                command.Parameters.AddWithValue("t", NpgsqlDbType.Text, options.TableName);
                await using var exists = new NpgsqlCommand("SELECT to_regclass('imagesimilarity_stores') IS NOT NULL", connection);
                if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
                {
                    return null;
                }

                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return null;
                }

                return new PgVectorStoreInfo(
                    options.TableName,
                    reader.GetInt32(0),
                    reader.GetString(1),
                    reader.GetString(2) == "half" ? VectorPrecision.Half : VectorPrecision.Single,
                    reader.GetString(3) == "median" ? BinaryCodeKind.Median : BinaryCodeKind.Sign,
                    reader.GetBoolean(6),
                    reader.GetFieldValue<DateTimeOffset>(4),
                    VectorCodec.FromJson(reader.GetString(5)));
            }
        }
        catch (Exception e) when (Translate(e, $"Could not read table '{options.TableName}' of {Describe(dataSource)}", cancellationToken) is { } translated)
        {
            throw translated;
        }
    }

    private async Task<CodeState> CreateOrVerifySchemaAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var command = Command(connection, $"SELECT pg_advisory_xact_lock({SchemaLockKey})", transaction))
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var command = Command(connection, "CREATE EXTENSION IF NOT EXISTS vector; " + RegistryDdl, transaction))
        {
            try
            {
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UndefinedFile or PostgresErrorCodes.InsufficientPrivilege)
            {
                throw new PgVectorStoreException($"The pgvector extension is not available in {Describe(_dataSource)} ({e.MessageText}). Install pgvector on the server (Debian: postgresql-17-pgvector) or have an administrator run CREATE EXTENSION vector in this database.", e);
            }
        }

        CodeState codes;
        await using (var command = Command(connection, "SELECT dimension, model_id, precision, code_kind, code_version, thresholds FROM imagesimilarity_stores WHERE table_name = @t", transaction))
        {
            command.Parameters.AddWithValue("t", NpgsqlDbType.Text, _options.TableName);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var dimension = reader.GetInt32(0);
                var model = reader.GetString(1);
                var precision = reader.GetString(2);
                if (dimension != Dimension || !string.Equals(model, ModelId, StringComparison.Ordinal) || precision != PrecisionName(Precision))
                {
                    throw new ModelMismatchException(
                        $"Table '{_options.TableName}' in {Describe(_dataSource)} holds {dimension}-float vectors ({precision} precision) of model '{model}', not {Dimension}-float vectors ({PrecisionName(Precision)} precision) of model '{ModelId}'. Use another table name, or the model settings and precision it was built with.");
                }

                codes = new CodeState(
                    reader.GetString(3) == "median" ? BinaryCodeKind.Median : BinaryCodeKind.Sign,
                    reader.GetInt32(4),
                    reader.IsDBNull(5) ? null : reader.GetFieldValue<float[]>(5));
            }
            else
            {
                codes = new CodeState(BinaryCodeKind.Sign, 0, null);
            }
        }

        await using (var command = Command(connection, "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = to_regclass(@q) AND a.attname = 'embedding' AND NOT a.attisdropped", transaction))
        {
            command.Parameters.AddWithValue("q", NpgsqlDbType.Text, Table);
            var existing = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
            if (existing is not null && existing != _vectorType)
            {
                throw new ModelMismatchException($"Table '{_options.TableName}' in {Describe(_dataSource)} has an embedding column of type {existing}, not {_vectorType}. Use another table name.");
            }
        }

        var t = _options.TableName;
        await using (var command = Command(
            connection,
            $"""
            CREATE TABLE IF NOT EXISTS {Table} (
                id        text PRIMARY KEY,
                embedding {_vectorType} NOT NULL,
                code      bit({Dimension}) NOT NULL,
                metadata  jsonb NOT NULL DEFAULT '{"{}"}',
                updated   timestamptz NOT NULL DEFAULT now());
            CREATE INDEX IF NOT EXISTS {Quote(t + "_metadata")} ON {Table} USING gin (metadata jsonb_path_ops);
            CREATE INDEX IF NOT EXISTS {Quote(t + "_sha256")} ON {Table} ((metadata->>'sha256'));
            INSERT INTO imagesimilarity_stores (table_name, dimension, model_id, precision) VALUES (@t, @d, @m, @p) ON CONFLICT (table_name) DO NOTHING;
            """,
            transaction))
        {
            command.Parameters.AddWithValue("t", NpgsqlDbType.Text, t);
            command.Parameters.AddWithValue("d", NpgsqlDbType.Integer, Dimension);
            command.Parameters.AddWithValue("m", NpgsqlDbType.Text, ModelId);
            command.Parameters.AddWithValue("p", NpgsqlDbType.Text, PrecisionName(Precision));
            try
            {
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UndefinedColumn or PostgresErrorCodes.DatatypeMismatch)
            {
                throw new PgVectorStoreException($"Table '{t}' in {Describe(_dataSource)} exists but was not made by ImageSimilarity ({e.MessageText}). Use another table name.", e);
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return codes;
    }

    private async Task WriteBatchAsync(Dictionary<string, (float[] Unit, VectorRecord Record)> batch, CancellationToken cancellationToken)
    {
        await RunAsync(
            async connection =>
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

                // The codes must be made with the thresholds in force when this transaction commits: a rebuild of the
                // approximate index holds this row FOR UPDATE while it recomputes every code.
                var codes = await ReadCodeStateAsync(connection, transaction, share: true, cancellationToken).ConfigureAwait(false);
                await using (var create = Command(connection, $"CREATE TEMP TABLE imsim_staging (id text, embedding {_vectorType}, code varbit, metadata jsonb) ON COMMIT DROP", transaction))
                {
                    await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                var half = Precision == VectorPrecision.Half;
                var importer = await connection.BeginBinaryImportAsync("COPY imsim_staging (id, embedding, code, metadata) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
                await using (importer.ConfigureAwait(false))
                {
                    importer.Timeout = _options.CommandTimeout;
                    foreach (var (id, (unit, record)) in batch)
                    {
                        await importer.StartRowAsync(cancellationToken).ConfigureAwait(false);
                        await importer.WriteAsync(id, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                        // The vector goes in pgvector's own binary format (sent as raw bytes; the server's receive function
                        // of the column type reads them), which is several times cheaper than a float4[] and a cast.
                        await importer.WriteAsync(VectorCodec.Encode(unit, half), NpgsqlDbType.Bytea, cancellationToken).ConfigureAwait(false);
                        await importer.WriteAsync(Code(unit, codes), NpgsqlDbType.Varbit, cancellationToken).ConfigureAwait(false);
                        await importer.WriteAsync(VectorCodec.ToJson(record.Metadata), NpgsqlDbType.Jsonb, cancellationToken).ConfigureAwait(false);
                    }

                    await importer.CompleteAsync(cancellationToken).ConfigureAwait(false);
                }

                await using (var merge = Command(
                    connection,
                    $"""
                    INSERT INTO {Table} (id, embedding, code, metadata, updated)
                    SELECT id, embedding, code::bit({Dimension}), metadata, now() FROM imsim_staging
                    ON CONFLICT (id) DO UPDATE SET embedding = excluded.embedding, code = excluded.code, metadata = excluded.metadata, updated = excluded.updated
                    """,
                    transaction))
                {
                    await merge.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return 0;
            },
            $"store {batch.Count} records",
            initialized: true,
            cancellationToken).ConfigureAwait(false);
    }

    private async Task<CodeState> ReadCodeStateAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, bool? share, CancellationToken cancellationToken)
    {
        var known = _codes;
        int version;
        string kind;
        await using (var command = Command(connection, $"SELECT code_version, code_kind FROM imagesimilarity_stores WHERE table_name = @t {(share is null ? string.Empty : share.Value ? "FOR SHARE" : "FOR UPDATE")}", transaction))
        {
            command.Parameters.AddWithValue("t", NpgsqlDbType.Text, _options.TableName);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new PgVectorStoreException($"Table '{_options.TableName}' in {Describe(_dataSource)} is no longer registered in imagesimilarity_stores (was it dropped?). Open the store again to recreate it.");
            }

            version = reader.GetInt32(0);
            kind = reader.GetString(1);
        }

        if (known is not null && known.Version == version)
        {
            return known;
        }

        float[]? thresholds = null;
        if (kind == "median")
        {
            await using var command = Command(connection, "SELECT thresholds FROM imagesimilarity_stores WHERE table_name = @t", transaction);
            command.Parameters.AddWithValue("t", NpgsqlDbType.Text, _options.TableName);
            thresholds = (float[])(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        var fresh = new CodeState(kind == "median" ? BinaryCodeKind.Median : BinaryCodeKind.Sign, version, thresholds);
        _codes = fresh;
        return fresh;
    }
}
