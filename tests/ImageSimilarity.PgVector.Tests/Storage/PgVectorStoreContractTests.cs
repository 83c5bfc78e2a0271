using ImageSimilarity.PgVector.TestSupport;
using ImageSimilarity.Storage;

namespace ImageSimilarity.PgVector.Storage;

/// <summary>The shared <see cref="IVectorStore"/> contract (tests/Shared) run against PostgreSQL + pgvector.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PgVectorStoreContractTests(PostgresFixture postgres) : VectorStoreContractTests
{
    private readonly string _prefix = PostgresFixture.NewTable("c");

    protected override Task<IVectorStore> OpenAsync(string name, int dimension, string modelId)
        => Task.FromResult<IVectorStore>(new PgVectorStore(postgres.Require(), dimension, modelId, new PgVectorStoreOptions { TableName = _prefix + "_" + name }));
}
