using ImageSimilarity.Storage;

namespace SearchByImage;

/// <summary>The model settings recorded in an index file by <c>index</c>, read back by <c>search</c> and a later <c>index</c>.</summary>
internal sealed record IndexSettings(string? WeightsPath, string? Preset, string? Precision)
{
    public static IndexSettings From(EmbeddedVectorStore store) => new(
        store.Properties.TryGetValue(IndexProperties.WeightsPath, out var w) ? w : null,
        store.Properties.TryGetValue(IndexProperties.Preset, out var p) ? p : null,
        store.Properties.TryGetValue(IndexProperties.Precision, out var c) ? c : null);
}
