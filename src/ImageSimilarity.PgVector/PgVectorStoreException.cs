namespace ImageSimilarity.PgVector;

/// <summary>
/// PostgreSQL could not do what a <see cref="PgVectorStore"/> or <see cref="Distributed.DistributedIndexer"/> asked: the
/// server is not reachable, a command timed out, or the table is not one this library made. The message says which
/// server and table, and what to do; nothing that was committed before is lost.
/// </summary>
public sealed class PgVectorStoreException : ImageSimilarityException
{
    /// <summary>Initializes a new instance of the <see cref="PgVectorStoreException"/> class.</summary>
    public PgVectorStoreException()
        : base("The PostgreSQL store failed.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="PgVectorStoreException"/> class.</summary>
    /// <param name="message">The message.</param>
    public PgVectorStoreException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="PgVectorStoreException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public PgVectorStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
