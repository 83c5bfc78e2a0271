namespace ImageSimilarity.Duplicates;

/// <summary>One image of a <see cref="DuplicateGroup"/>.</summary>
/// <param name="Id">The record id.</param>
/// <param name="Path">The image file (metadata <c>path</c>), or <see langword="null"/> when the record has none.</param>
/// <param name="Similarity">Cosine similarity to the group's keeper (1 for the keeper).</param>
/// <param name="Width">Width in pixels from the file's header, or 0 when the file cannot be read.</param>
/// <param name="Height">Height in pixels from the file's header, or 0 when the file cannot be read.</param>
/// <param name="Bytes">The file size recorded in the index, or 0.</param>
/// <param name="LastWriteUtc">The file's last write time recorded in the index, or <see langword="null"/>.</param>
/// <param name="IsExactCopy">Whether the file's content (SHA-256) equals the keeper's (and it is not the keeper).</param>
public sealed record DuplicateMember(string Id, string? Path, float Similarity, int Width, int Height, long Bytes, DateTimeOffset? LastWriteUtc, bool IsExactCopy);
