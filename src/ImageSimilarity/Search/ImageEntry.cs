using ImageSimilarity.Imaging;

namespace ImageSimilarity.Search;

/// <summary>An image to add to a <see cref="SimilaritySearcher"/>: its id, the image and optional extra metadata.</summary>
/// <param name="Id">The unique id, for example the image's path relative to the collection root.</param>
/// <param name="Image">The image.</param>
/// <param name="Metadata">Extra metadata kept with the vector; <see langword="null"/> for none.</param>
public sealed record ImageEntry(string Id, ImageInput Image, IReadOnlyDictionary<string, string>? Metadata = null);
