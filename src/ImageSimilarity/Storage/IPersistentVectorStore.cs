namespace ImageSimilarity.Storage;

/// <summary>A vector store whose changes live in memory until they are saved, such as the embedded single-file store.</summary>
/// <remarks>Long operations (folder indexing) call <see cref="SaveChangesAsync"/> at checkpoints, so a run that is stopped resumes where it was.</remarks>
public interface IPersistentVectorStore : IVectorStore
{
    /// <summary>Writes all changes to durable storage atomically: afterwards either the old or the new state is on disk, never a mix.</summary>
    /// <param name="cancellationToken">Cancels the save; the previous saved state stays intact.</param>
    /// <returns>A task that completes when the changes are durable.</returns>
    Task SaveChangesAsync(CancellationToken cancellationToken = default);
}
