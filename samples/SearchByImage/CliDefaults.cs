namespace SearchByImage;

/// <summary>Per-user default locations.</summary>
internal static class CliDefaults
{
    /// <summary>The environment variable that overrides the default index file.</summary>
    public const string IndexEnvironmentVariable = "IMAGESIMILARITY_INDEX";

    /// <summary>Gets the default index file: $IMAGESIMILARITY_INDEX, else &lt;local app data&gt;/ImageSimilarity/index.isvs (~/.local/share on Linux).</summary>
    public static string IndexPath =>
        Environment.GetEnvironmentVariable(IndexEnvironmentVariable) is { Length: > 0 } fromEnv
            ? fromEnv
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "ImageSimilarity", "index.isvs");
}
