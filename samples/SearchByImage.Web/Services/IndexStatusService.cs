using ImageSimilarity.Extraction;
using ImageSimilarity.PgVector;
using ImageSimilarity.Search;
using ImageSimilarity.Storage;
using Microsoft.Extensions.Options;
using SearchByImage.Web.Api;

namespace SearchByImage.Web.Services;

/// <summary>Describes the index the app searches, read from the store on every call.</summary>
internal sealed class IndexStatusService(SimilaritySearcher searcher, ExtractionQueue queue, IOptions<WebAppOptions> options)
{
    public async Task<IndexStatus> GetAsync(CancellationToken cancellationToken)
    {
        var store = searcher.Store;
        var count = await store.CountAsync(cancellationToken).ConfigureAwait(false);
        var embedded = store as EmbeddedVectorStore;
        var pg = store as PgVectorStore;
        var o = options.Value;
        return new IndexStatus(
            count,
            store.ModelId,
            store.Dimension,
            embedded?.Precision.ToString() ?? pg?.Precision.ToString(),
            (searcher.Extractor as Vgg16FeatureExtractor)?.Precision.ToString(),
            embedded?.UpdatedUtc,
            embedded?.FilePath is { } path ? Path.GetFileName(path) : pg is not null ? $"PostgreSQL table {pg.TableName}" : null,
            queue.Pending,
            queue.Capacity,
            o.MaxUploadBytes,
            o.DefaultTop,
            o.MaxTop);
    }
}
