namespace SearchByImage;

/// <summary>Per-user default locations.</summary>
internal static class CliDefaults
{
    /// <summary>The environment variable that overrides the default index file.</summary>
    public const string IndexEnvironmentVariable = "IMAGESIMILARITY_INDEX";

    /// <summary>Gets the default index file: $IMAGESIMILARITY_INDEX, else &lt;local app data&gt;/ImageSimilarity/index.db (~/.local/share on Linux).</summary>
    public static string IndexPath =>
        Environment.GetEnvironmentVariable(IndexEnvironmentVariable) is { Length: > 0 } fromEnv
            ? fromEnv
            : Path.Combine(DataFolder, "index.db");

    /// <summary>Gets the default index of versions before 0.2 (the old single-file format), which <c>import</c> converts.</summary>
    public static string LegacyIndexPath => Path.Combine(DataFolder, "index.isvs");

    /// <summary>
    /// Says how to convert the old default index when the default index does not exist yet but the old one does
    /// (<see langword="null"/> otherwise, or when the index was chosen explicitly).
    /// </summary>
    public static string? LegacyHint(string indexPath) =>
        string.Equals(indexPath, IndexPath, StringComparison.Ordinal) && !File.Exists(indexPath) && File.Exists(LegacyIndexPath)
            ? $"an index in the old format exists at '{LegacyIndexPath}': convert it once with 'import {LegacyIndexPath}' (it is kept)"
            : null;

    private static string DataFolder => Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "ImageSimilarity");
}
