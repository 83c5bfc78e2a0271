namespace ImageSimilarity.Evaluation;

/// <summary>The two usual ways to read a label from a stored record's id (the path relative to the indexed folder).</summary>
public static class EvaluationLabels
{
    /// <summary>
    /// The file name without its extension and trailing digits, lower-cased: <c>Cat5.jpeg</c> and <c>cat12.jpeg</c> are
    /// both <c>cat</c> (the seed sample's convention). Trailing spaces, '_' and '-' before the digits are dropped too.
    /// </summary>
    /// <param name="id">The record id (a relative path or a file name).</param>
    /// <returns>The label, or <see langword="null"/> when nothing is left (a file named only by digits).</returns>
    public static string? FromFileNamePrefix(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var name = Path.GetFileNameWithoutExtension(id.Replace('\\', '/').Split('/')[^1]);
        var label = name.TrimEnd("0123456789".ToCharArray()).TrimEnd(' ', '_', '-');
        return label.Length == 0 ? null : label.ToLowerInvariant();
    }

    /// <summary>
    /// The sub-folder the file is in, relative to the indexed folder (<c>dogs/a.jpg</c> is <c>dogs</c>,
    /// <c>pets/dogs/a.jpg</c> is <c>pets/dogs</c>).
    /// </summary>
    /// <param name="id">The record id (the path relative to the indexed folder).</param>
    /// <returns>The label, or <see langword="null"/> for a file directly in the indexed folder.</returns>
    public static string? FromFolder(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var normalised = id.Replace('\\', '/');
        var slash = normalised.LastIndexOf('/');
        return slash <= 0 ? null : normalised[..slash];
    }
}
