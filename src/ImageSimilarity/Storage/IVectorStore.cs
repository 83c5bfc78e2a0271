namespace ImageSimilarity.Storage;

/// <summary>
/// Keeps feature vectors by id and finds the ones most similar to a query by cosine similarity.
/// </summary>
/// <remarks>
/// A store holds vectors of one <see cref="Dimension"/> made by one model (<see cref="ModelId"/>) and refuses
/// others. Vectors with NaN or infinite values, or all zeros, are refused. Search runs where the data lives,
/// so a database-backed store searches in the database. Implementations are safe for concurrent use.
/// </remarks>
public interface IVectorStore : IAsyncDisposable
{
    /// <summary>Gets the vector length every record must have.</summary>
    int Dimension { get; }

    /// <summary>Gets the identifier of the model whose vectors this store holds.</summary>
    string ModelId { get; }

    /// <summary>Counts the records.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The number of records.</returns>
    Task<long> CountAsync(CancellationToken cancellationToken = default);

    /// <summary>Inserts records or replaces those with the same id.</summary>
    /// <param name="records">The records.</param>
    /// <param name="cancellationToken">Cancels the operation; records already written stay written.</param>
    /// <returns>A task that completes when the records are stored.</returns>
    /// <exception cref="ArgumentException">A vector has the wrong length, a NaN/infinite value, or is all zero; the message names the id.</exception>
    Task UpsertAsync(IEnumerable<VectorRecord> records, CancellationToken cancellationToken = default);

    /// <summary>Gets a record by id.</summary>
    /// <param name="id">The id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The record, or <see langword="null"/> when there is none.</returns>
    Task<VectorRecord?> GetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Deletes a record by id.</summary>
    /// <param name="id">The id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="true"/> when a record was deleted.</returns>
    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Lists every record's id and metadata, in no particular order, without reading the vectors.</summary>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The records, each with an empty <see cref="VectorRecord.Vector"/>.</returns>
    /// <remarks>Used by incremental indexing to see what is already stored; the enumeration is a consistent snapshot.</remarks>
    IAsyncEnumerable<VectorRecord> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Finds the records most similar to <paramref name="query"/>, best first.</summary>
    /// <param name="query">The query vector; it need not be normalised.</param>
    /// <param name="options">How many results, threshold and filter; <see langword="null"/> for <see cref="VectorSearchOptions.Default"/>.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The results, by descending similarity.</returns>
    /// <exception cref="ArgumentException">The query has the wrong length, a NaN/infinite value, or is all zero.</exception>
    Task<IReadOnlyList<VectorSearchResult>> SearchAsync(ReadOnlyMemory<float> query, VectorSearchOptions? options = null, CancellationToken cancellationToken = default);
}
