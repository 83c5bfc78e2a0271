using ImageSimilarity.TestSupport;
using Npgsql;

namespace ImageSimilarity.PgVector.TestSupport;

/// <summary>One PostgreSQL server for the test collection; tests skip with the reason when PostgreSQL is absent, except in CI, where they fail.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public PostgresServer? Server { get; private set; }

    public NpgsqlDataSource? DataSource { get; private set; }

    public string? Unavailable { get; private set; }

    public async Task InitializeAsync()
    {
        if (PostgresServer.FindBinaries(out var reason) is null)
        {
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException("CI=true but " + reason);
            }

            Unavailable = reason;
            return;
        }

        Server = await PostgresServer.StartAsync();
        DataSource = NpgsqlDataSource.Create(Server.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        if (DataSource is not null)
        {
            await DataSource.DisposeAsync();
        }

        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }

    /// <summary>Skips the calling test (outside CI) when there is no server.</summary>
    public NpgsqlDataSource Require()
    {
        Skip.If(Unavailable is not null, Unavailable);
        return DataSource!;
    }

    /// <summary>A fresh table name.</summary>
    public static string NewTable(string prefix = "t") => $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(40, prefix.Length + 17)];
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}
