using ImageSimilarity.Storage;

namespace SearchByImage;

/// <summary>The model settings recorded in an index file by <c>index</c>, read back by <c>search</c> and a later <c>index</c>.</summary>
internal sealed record IndexSettings(string? WeightsPath, string? Preset, string? Precision)
{
    public static IndexSettings From(EmbeddedVectorStore store) => From(store.Properties.AsReadOnly());

    public static IndexSettings From(IReadOnlyDictionary<string, string> properties) => new(
        properties.GetValueOrDefault(IndexProperties.WeightsPath),
        properties.GetValueOrDefault(IndexProperties.Preset),
        properties.GetValueOrDefault(IndexProperties.Precision));
}
