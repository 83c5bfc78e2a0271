using System.CommandLine;
using ImageSimilarity;
using ImageSimilarity.PgVector;
using ImageSimilarity.Storage;
using Npgsql;

namespace SearchByImage.Postgres;

/// <summary>
/// <c>--store embedded|postgres</c>, <c>--connection</c> and <c>--table</c>: the options that send a command to a PostgreSQL
/// + pgvector store instead of the index file.
/// </summary>
internal sealed class PostgresStoreOptions
{
    public const string ConnectionEnvironmentVariable = "IMAGESIMILARITY_PG";

    public Option<string> Store { get; } = new("--store")
    {
        Description = "Where the vectors live: embedded (the index file, default) or postgres (PostgreSQL + pgvector; needs --connection).",
        DefaultValueFactory = _ => "embedded",
    };

    public Option<string?> Connection { get; } = new("--connection")
    {
        Description = $"PostgreSQL connection string for --store postgres, e.g. \"Host=db;Username=app;Password=...;Database=images\". Default: ${ConnectionEnvironmentVariable}.",
    };

    public Option<string?> Table { get; } = new("--table")
    {
        Description = "Table of the index in PostgreSQL (one database holds several). Default: image_vectors.",
    };

    public void AddTo(Command command)
    {
        Store.AcceptOnlyFromAmong("embedded", "postgres");
        command.Options.Add(Store);
        command.Options.Add(Connection);
        command.Options.Add(Table);
    }

    public bool IsPostgres(ParseResult parseResult) => parseResult.GetValue(Store) == "postgres";

    public NpgsqlDataSource OpenDataSource(ParseResult parseResult)
    {
        var connection = parseResult.GetValue(Connection) ?? Environment.GetEnvironmentVariable(ConnectionEnvironmentVariable);
        if (string.IsNullOrWhiteSpace(connection))
        {
            throw new ArgumentException($"--store postgres needs --connection \"Host=...;Username=...;Database=...\" (or ${ConnectionEnvironmentVariable})");
        }

        try
        {
            return NpgsqlDataSource.Create(connection);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"--connection is not a valid PostgreSQL connection string: {e.Message}", e);
        }
    }

    public PgVectorStoreOptions StoreOptions(ParseResult parseResult, VectorPrecision precision = VectorPrecision.Single)
        => new() { TableName = parseResult.GetValue(Table) ?? PgVectorStoreOptions.Default.TableName, Precision = precision };

    /// <summary>Runs a PostgreSQL command body, turning the store's errors into the one-line errors <see cref="CommandErrors"/> prints.</summary>
    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (Exception e) when (e is PgVectorStoreException or ModelMismatchException)
        {
            throw new IOException(e.Message, e);
        }
    }
}
