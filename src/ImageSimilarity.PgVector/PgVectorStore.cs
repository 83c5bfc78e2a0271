using System.Collections;
using System.Runtime.CompilerServices;
using ImageSimilarity.Storage;
using Npgsql;
using NpgsqlTypes;

namespace ImageSimilarity.PgVector;

/// <summary>
/// An <see cref="IVectorStore"/> in PostgreSQL with pgvector: one table per index (id, vector, binary code, jsonb
/// metadata), bulk upserts through binary COPY, and cosine search in the database, exact or approximate
/// (<see cref="PgVectorSearchOptions"/>).
/// </summary>
/// <remarks>
/// <para>
/// The store creates its schema on first use (the <c>vector</c> extension, the table, its indexes and a row in
/// <c>imagesimilarity_stores</c> that records dimension, model and precision) or verifies an existing one and refuses a
/// mismatch with <see cref="ModelMismatchException"/>. Call <see cref="InitializeAsync"/> to do that up front.
/// </para>
/// <para>
/// Connections come from the <see cref="NpgsqlDataSource"/> the caller gives and owns (it is not disposed by the store).
/// Every command honours <see cref="PgVectorStoreOptions.CommandTimeout"/> and the cancellation token. Failures of the
/// server or the connection become <see cref="PgVectorStoreException"/> naming the server and table.
/// </para>
/// <para>Thread-safety: all members are safe to call from several threads and processes at once.</para>
/// </remarks>
public sealed partial class PgVectorStore : IVectorStore
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly PgVectorStoreOptions _options;
    private readonly string _vectorType;
    private readonly string _send;
    private readonly SemaphoreSlim _initLock = new(1, 1);
    private volatile CodeState? _codes;
    private bool _disposed;

    /// <summary>Initializes a new instance of the <see cref="PgVectorStore"/> class; the database is first touched on first use.</summary>
    /// <param name="dataSource">Where to connect; the caller owns it.</param>
    /// <param name="dimension">The vector length (4096 for VGG16 fc2).</param>
    /// <param name="modelId">The model whose vectors the store holds.</param>
    /// <param name="options">Table name, precision, timeouts; <see langword="null"/> for <see cref="PgVectorStoreOptions.Default"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="dataSource"/> or <paramref name="modelId"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="dimension"/> is zero, negative or above 16,000 (pgvector's limit).</exception>
    /// <exception cref="ArgumentException"><paramref name="modelId"/> is empty or blank.</exception>
    public PgVectorStore(NpgsqlDataSource dataSource, int dimension, string modelId, PgVectorStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(dimension, 16_000);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelId);
        _dataSource = dataSource;
        _options = options ?? PgVectorStoreOptions.Default;
        Dimension = dimension;
        ModelId = modelId;
        _vectorType = (_options.Precision == VectorPrecision.Half ? "halfvec" : "vector") + $"({dimension})";
        _send = _options.Precision == VectorPrecision.Half ? "halfvec_send" : "vector_send";
    }

    /// <inheritdoc/>
    public int Dimension { get; }

    /// <inheritdoc/>
    public string ModelId { get; }

    /// <summary>Gets the table that holds the vectors.</summary>
    public string TableName => _options.TableName;

    /// <summary>Gets how the table keeps vectors (<c>vector</c> or <c>halfvec</c>).</summary>
    public VectorPrecision Precision => _options.Precision;

    internal NpgsqlDataSource DataSource => _dataSource;

    internal PgVectorStoreOptions Options => _options;

    internal string Table => Quote(_options.TableName);

    /// <summary>
    /// Opens the store whose table already exists, taking its dimension, model and precision from the database (for
    /// tools that search an index without knowing how it was built).
    /// </summary>
    /// <param name="dataSource">Where to connect; the caller owns it.</param>
    /// <param name="options">The table name and timeouts (the precision is taken from the table).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The store.</returns>
    /// <exception cref="PgVectorStoreException">There is no such table made by this library, or the server is not reachable.</exception>
    public static async Task<PgVectorStore> OpenExistingAsync(NpgsqlDataSource dataSource, PgVectorStoreOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        options ??= PgVectorStoreOptions.Default;
        var info = await ReadRegistrationAsync(dataSource, options, cancellationToken).ConfigureAwait(false)
            ?? throw new PgVectorStoreException($"There is no ImageSimilarity table '{options.TableName}' in {Describe(dataSource)}: index into it first, or check the table name.");
        var store = new PgVectorStore(dataSource, info.Dimension, info.ModelId, new PgVectorStoreOptions
        {
            TableName = options.TableName,
            Precision = info.Precision,
            CommandTimeout = options.CommandTimeout,
            UpsertBatchSize = options.UpsertBatchSize,
        });
        await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        return store;
    }

    /// <summary>Reads how a table was made (dimension, model, precision, properties) without opening it; <see langword="null"/> when there is no such table.</summary>
    /// <param name="dataSource">Where to connect.</param>
    /// <param name="tableName">The table; <see langword="null"/> for the default.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The description, or <see langword="null"/>.</returns>
    /// <exception cref="PgVectorStoreException">The server is not reachable.</exception>
    public static Task<PgVectorStoreInfo?> ReadInfoAsync(NpgsqlDataSource dataSource, string? tableName = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        var options = tableName is null ? PgVectorStoreOptions.Default : new PgVectorStoreOptions { TableName = tableName };
        return ReadRegistrationAsync(dataSource, options, cancellationToken);
    }

    /// <summary>Creates the schema if it is missing, or verifies it; called by every other member on first use.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the table is ready.</returns>
    /// <exception cref="ModelMismatchException">The table holds vectors of another dimension, model or precision.</exception>
    /// <exception cref="PgVectorStoreException">The server is not reachable, or the table was not made by this library.</exception>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_codes is not null)
        {
            return;
        }

        await _initLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_codes is null)
            {
                _codes = await RunAsync(connection => CreateOrVerifySchemaAsync(connection, cancellationToken), "prepare the table", initialized: false, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _initLock.Release();
        }
    }

    /// <inheritdoc/>
    public Task<long> CountAsync(CancellationToken cancellationToken = default)
        => RunAsync(
            async connection =>
            {
                await using var command = Command(connection, $"SELECT count(*) FROM {Table}");
                return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            },
            "count the records",
            initialized: true,
            cancellationToken);

    /// <inheritdoc/>
    /// <remarks>
    /// Records are validated first, then written <see cref="PgVectorStoreOptions.UpsertBatchSize"/> at a time, each batch
    /// as one binary COPY into a temporary table and one <c>INSERT ... ON CONFLICT DO UPDATE</c> in one transaction:
    /// a batch is stored completely or not at all. When an id occurs twice in one call, the last record wins.
    /// </remarks>
    /// <exception cref="PgVectorStoreException">The server is not reachable or the command timed out; earlier batches stay stored.</exception>
    public async Task UpsertAsync(IEnumerable<VectorRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var batch = new Dictionary<string, (float[] Unit, VectorRecord Record)>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            if (record is null)
            {
                throw new ArgumentException("The records contain null.", nameof(records));
            }

            var unit = VectorCodec.Normalize(record.Vector.Span, Dimension, $"The vector of '{record.Id}'", nameof(records));
            batch[record.Id] = (unit, record);
            if (batch.Count == _options.UpsertBatchSize)
            {
                await WriteBatchAsync(batch, cancellationToken).ConfigureAwait(false);
                batch.Clear();
            }
        }

        if (batch.Count > 0)
        {
            await WriteBatchAsync(batch, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public Task<VectorRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        return RunAsync(
            async connection =>
            {
                await using var command = Command(connection, $"SELECT {_send}(embedding), metadata::text FROM {Table} WHERE id = @id");
                command.Parameters.AddWithValue("id", NpgsqlDbType.Text, id);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    return null;
                }

                return new VectorRecord(id, DecodeVector(reader.GetFieldValue<byte[]>(0)), VectorCodec.FromJson(reader.GetString(1)));
            },
            "read a record",
            initialized: true,
            cancellationToken);
    }

    /// <inheritdoc/>
    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        return RunAsync(
            async connection =>
            {
                await using var command = Command(connection, $"DELETE FROM {Table} WHERE id = @id");
                command.Parameters.AddWithValue("id", NpgsqlDbType.Text, id);
                return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
            },
            "delete a record",
            initialized: true,
            cancellationToken);
    }

    /// <inheritdoc/>
    /// <remarks>One query, so the enumeration is a consistent snapshot; it holds a connection until it ends.</remarks>
    public async IAsyncEnumerable<VectorRecord> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        var empty = new ReadOnlyMemory<float>([]);
        NpgsqlConnection connection;
        NpgsqlCommand command;
        NpgsqlDataReader reader;
        try
        {
            connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (TranslateFor(e, "list the records", cancellationToken) is { } translated)
        {
            throw translated;
        }

        await using (connection.ConfigureAwait(false))
        {
            command = Command(connection, $"SELECT id, metadata::text FROM {Table}");
            await using (command.ConfigureAwait(false))
            {
                try
                {
                    reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (TranslateFor(e, "list the records", cancellationToken) is { } translated)
                {
                    throw translated;
                }

                await using (reader.ConfigureAwait(false))
                {
                    while (true)
                    {
                        bool more;
                        try
                        {
                            more = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                        }
                        catch (Exception e) when (TranslateFor(e, "list the records", cancellationToken) is { } translated)
                        {
                            throw translated;
                        }

                        if (!more)
                        {
                            break;
                        }

                        yield return new VectorRecord(reader.GetString(0), empty, VectorCodec.FromJson(reader.GetString(1)));
                    }
                }
            }
        }
    }

    /// <summary>Reads the free-form string properties kept with the table (for example how its vectors were extracted).</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The properties.</returns>
    public Task<IReadOnlyDictionary<string, string>> GetPropertiesAsync(CancellationToken cancellationToken = default)
        => RunAsync(
            async connection =>
            {
                await using var command = Command(connection, "SELECT properties::text FROM imagesimilarity_stores WHERE table_name = @t");
                command.Parameters.AddWithValue("t", NpgsqlDbType.Text, _options.TableName);
                return VectorCodec.FromJson((string)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!);
            },
            "read the properties",
            initialized: true,
            cancellationToken);

    /// <summary>Sets free-form string properties kept with the table; other properties are kept.</summary>
    /// <param name="properties">The properties to set.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when they are stored.</returns>
    public Task SetPropertiesAsync(IReadOnlyDictionary<string, string> properties, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(properties);
        return RunAsync(
            async connection =>
            {
                await using var command = Command(connection, "UPDATE imagesimilarity_stores SET properties = properties || @p::jsonb WHERE table_name = @t");
                command.Parameters.AddWithValue("p", NpgsqlDbType.Text, VectorCodec.ToJson(properties));
                command.Parameters.AddWithValue("t", NpgsqlDbType.Text, _options.TableName);
                return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            },
            "store the properties",
            initialized: true,
            cancellationToken);
    }

    /// <summary>Does nothing to the database; the caller's <see cref="NpgsqlDataSource"/> stays open.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        _disposed = true;
        return ValueTask.CompletedTask;
    }

    internal static string Quote(string name) => "\"" + name + "\"";

    /// <summary>Describes where a data source connects (host, port, database; never the password), for messages.</summary>
    /// <param name="dataSource">The data source.</param>
    /// <returns>For example "PostgreSQL at db:5432 (database 'images')".</returns>
    public static string DescribeConnection(NpgsqlDataSource dataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        return Describe(dataSource);
    }

    internal static string Describe(NpgsqlDataSource dataSource)
    {
        var builder = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        return $"PostgreSQL at {builder.Host}:{builder.Port} (database '{builder.Database ?? builder.Username}')";
    }

    internal NpgsqlCommand Command(NpgsqlConnection connection, string sql, NpgsqlTransaction? transaction = null)
        => new(sql, connection, transaction) { CommandTimeout = _options.CommandTimeoutSeconds };

    internal async Task<T> RunAsync<T>(Func<NpgsqlConnection, Task<T>> body, string what, bool initialized, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (initialized)
        {
            await InitializeAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                return await body(connection).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (TranslateFor(e, what, cancellationToken) is { } translated)
        {
            throw translated;
        }
    }

    internal Exception? TranslateFor(Exception e, string what, CancellationToken cancellationToken)
        => Translate(e, $"Could not {what} in table '{_options.TableName}' of {Describe(_dataSource)}", cancellationToken);

    internal static Exception? Translate(Exception e, string context, CancellationToken cancellationToken)
    {
        if (e is OperationCanceledException && cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        return e switch
        {
            PostgresException { SqlState: PostgresErrorCodes.QueryCanceled } p => new PgVectorStoreException($"{context}: the command took longer than the command timeout ({p.MessageText}). Raise PgVectorStoreOptions.CommandTimeout, or make the query cheaper (approximate search, fewer candidates).", e),
            PostgresException { SqlState: PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow } p => new PgVectorStoreException($"{context}: the server is shutting down or starting ({p.MessageText}). What was committed before is kept; try again once it is up.", e),
            PostgresException p => new PgVectorStoreException($"{context}: {p.MessageText} (SQL state {p.SqlState}).", e),
            NpgsqlException { InnerException: TimeoutException } => new PgVectorStoreException($"{context}: no answer within the command timeout. Raise PgVectorStoreOptions.CommandTimeout, or check the server's load.", e),
            NpgsqlException n => new PgVectorStoreException($"{context}: the server is not reachable or the connection broke ({n.Message}). Start the server or fix the connection string; what was committed before is kept, so run again to continue.", e),
            _ => null,
        };
    }

    private float[] DecodeVector(byte[] bytes) => VectorCodec.Decode(bytes, _options.Precision == VectorPrecision.Half);

    private static BitArray Code(float[] unit, CodeState codes) => VectorCodec.Code(unit, codes.Thresholds);
}
