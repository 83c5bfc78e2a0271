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

    /// <summary>The recorded preset, else the one the model id ends with (<c>vgg16-fc2/&lt;weights&gt;/&lt;preset&gt;</c>, e.g. an imported index).</summary>
    public static string? PresetOf(IReadOnlyDictionary<string, string> properties, string modelId)
        => properties.GetValueOrDefault(IndexProperties.Preset)
           ?? (modelId.Split('/') is [_, _, var last] && last is "torchvision" or "keras-caffe" ? last : null);
}
