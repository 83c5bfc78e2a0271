using ImageSimilarity.PgVector;
using ImageSimilarity.Storage;
using Npgsql;

namespace SearchByImage.Web.Services;

/// <summary>
/// Serves a PostgreSQL + pgvector index instead of the index file when a connection string is configured:
/// <c>ImageSimilarity:PostgresConnection</c> (<c>ImageSimilarity__PostgresConnection</c>), else the environment variable
/// the CLI reads for <c>--store postgres</c>, <c>IMAGESIMILARITY_PG</c>; the table is <c>ImageSimilarity:PostgresTable</c>
/// (default <c>image_vectors</c>, as the CLI's <c>--table</c>). The store is the PgVector package's DI registration,
/// <c>AddImageSimilarityPgVector</c>.
/// </summary>
internal static class PostgresStore
{
    /// <summary>The configuration key of the connection string, in the library's section.</summary>
    public const string ConnectionKey = WebApp.LibrarySection + ":PostgresConnection";

    /// <summary>The configuration key of the table, in the library's section.</summary>
    public const string TableKey = WebApp.LibrarySection + ":PostgresTable";

    /// <summary>The environment variable the CLI reads for <c>--store postgres</c>.</summary>
    public const string ConnectionEnvironmentVariable = "IMAGESIMILARITY_PG";

    /// <summary>Gets the configured connection string, or <see langword="null"/> to serve the index file.</summary>
    public static string? Connection(IConfiguration configuration)
        => configuration[ConnectionKey] is { Length: > 0 } configured ? configured
            : Environment.GetEnvironmentVariable(ConnectionEnvironmentVariable) is { Length: > 0 } fromEnv ? fromEnv : null;

    public static PgVectorStoreOptions Options(IConfiguration configuration)
        => new() { TableName = configuration[TableKey] is { Length: > 0 } table ? table : PgVectorStoreOptions.Default.TableName };

    /// <summary>Registers the PostgreSQL store (before <c>AddImageSimilarity</c>, so that it does not open an index file).</summary>
    public static void Add(IServiceCollection services, string connection, PgVectorStoreOptions options)
    {
        try
        {
            services.AddImageSimilarityPgVector(connection, options);
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"{ConnectionKey} is not a valid PostgreSQL connection string: {e.Message}", e);
        }
    }

    /// <summary>Opens the table when the app starts (after <c>AddImageSimilarity</c>, whose hosted service loads the model first).</summary>
    public static void AddStartupCheck(IServiceCollection services) => services.AddHostedService<PostgresStoreCheck>();

    /// <summary>
    /// The properties the CLI recorded with the table (model, preset, precision, weights), read at start-up before the
    /// host exists; empty when the table does not exist yet (the store creates it for the configured model).
    /// </summary>
    public static IReadOnlyDictionary<string, string> RecordedProperties(string connection, PgVectorStoreOptions options)
    {
        using var dataSource = NpgsqlDataSource.Create(connection);
        try
        {
            var info = PgVectorStore.ReadInfoAsync(dataSource, options.TableName).GetAwaiter().GetResult();
            return info?.Properties ?? new Dictionary<string, string>();
        }
        catch (PgVectorStoreException e)
        {
            throw new InvalidOperationException($"The PostgreSQL index of {ConnectionKey} cannot be read: {e.Message}", e);
        }
    }

    /// <summary>Opens the table when the app starts, so a server that is not reachable or a table of another model stops the start with the store's message.</summary>
    /// <remarks>The store is resolved in <see cref="StartAsync"/>: it needs the model's dimension, which the library's hosted service has loaded by then.</remarks>
    private sealed class PostgresStoreCheck(IServiceProvider services, ILogger<PostgresStoreCheck> logger) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            if (services.GetRequiredService<IVectorStore>() is PgVectorStore pg)
            {
                await pg.InitializeAsync(cancellationToken).ConfigureAwait(false);
                logger.LogInformation("Serving PostgreSQL table {Table} ({Count} images, model {Model})", pg.TableName, await pg.CountAsync(cancellationToken).ConfigureAwait(false), pg.ModelId);
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
