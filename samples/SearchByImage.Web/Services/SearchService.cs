using System.Diagnostics;
using ImageSimilarity.Search;
using ImageSimilarity.Storage;
using Microsoft.Extensions.Options;
using SearchByImage.Web.Api;

namespace SearchByImage.Web.Services;

/// <summary>Runs searches by upload and by stored id, always through the store (nothing is cached, so records added by another process show up as soon as the store sees them).</summary>
internal sealed class SearchService(SimilaritySearcher searcher, ExtractionQueue queue, IOptions<WebAppOptions> options, ILogger<SearchService> logger)
{
    private static readonly HashSet<string> HiddenMetadata = new(StringComparer.Ordinal) { RecordMetadata.Path, RecordMetadata.Root };

    public async Task<SearchResponse> SearchByUploadAsync(ReadOnlyMemory<byte> encoded, string fileName, int top, float? minScore, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var vector = await queue.ExtractAsync(encoded, fileName, cancellationToken).ConfigureAwait(false);
        var results = await searcher.SearchAsync(vector, new SearchOptions { Store = new VectorSearchOptions { Top = top, MinSimilarity = minScore } }, cancellationToken).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        logger.LogInformation("Search by upload {FileName} ({Bytes} bytes): {Results} results in {ElapsedMs:F1} ms", fileName, encoded.Length, results.Count, elapsed);
        return new SearchResponse(new SearchQuery(null, fileName, null), Map(results), elapsed);
    }

    /// <returns>The response, or <see langword="null"/> when the index has no record with that id.</returns>
    public async Task<SearchResponse?> SearchByIdAsync(string id, int top, float? minScore, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var record = await searcher.Store.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            logger.LogInformation("Search by id {Id}: no such record", id);
            return null;
        }

        var searchOptions = new SearchOptions
        {
            Store = new VectorSearchOptions { Top = top, MinSimilarity = minScore, ExcludeIds = new HashSet<string>(StringComparer.Ordinal) { id } },
        };
        var results = await searcher.SearchAsync(record.Vector, searchOptions, cancellationToken).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        logger.LogInformation("Search by id {Id}: {Results} results in {ElapsedMs:F1} ms", id, results.Count, elapsed);
        return new SearchResponse(new SearchQuery(id, NameOf(id, record.Metadata), ImageUrls.Thumbnail(id)), Map(results), elapsed);
    }

    /// <summary>Validates and defaults the result count; returns an error message or <see langword="null"/>.</summary>
    public string? ResolveTop(int? requested, out int top)
    {
        var o = options.Value;
        top = requested ?? o.DefaultTop;
        return top < 1 || top > o.MaxTop ? $"top must be between 1 and {o.MaxTop} (it is {top})." : null;
    }

    /// <summary>Validates the score threshold; returns an error message or <see langword="null"/>.</summary>
    public static string? CheckMinScore(float? minScore)
        => minScore is { } s && !(s >= -1f && s <= 1f) ? $"minScore must be a number between -1 and 1 (it is {s})." : null;

    internal static string NameOf(string id, IReadOnlyDictionary<string, string> metadata)
        => Path.GetFileName(metadata.TryGetValue(RecordMetadata.Path, out var p) ? p : id.Replace('\\', '/'));

    private static List<SearchHit> Map(IReadOnlyList<VectorSearchResult> results)
    {
        var hits = new List<SearchHit>(results.Count);
        foreach (var r in results)
        {
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (key, value) in r.Metadata)
            {
                if (!HiddenMetadata.Contains(key))
                {
                    metadata[key] = value;
                }
            }

            hits.Add(new SearchHit(r.Id, NameOf(r.Id, r.Metadata), r.Similarity, metadata, ImageUrls.Thumbnail(r.Id), ImageUrls.Original(r.Id), ImageUrls.Search(r.Id)));
        }

        return hits;
    }
}
