namespace ImageSimilarity.TestSupport;

/// <summary>Where the repository, the shared seed data and the Python reference scripts are.</summary>
internal static class TestPaths
{
    private static readonly Lazy<string> Root = new(FindRoot);

    /// <summary>Gets the repository root (the folder holding ImageSimilarity.sln).</summary>
    public static string RepoRoot => Root.Value;

    /// <summary>Gets the folder of the Python reference scripts (tests/reference).</summary>
    public static string ReferenceScripts => Path.Combine(RepoRoot, "tests", "reference");

    /// <summary>Gets the shared folder: $IMAGESIMILARITY_SHARED, else ../shared beside the repository.</summary>
    public static string Shared =>
        Environment.GetEnvironmentVariable("IMAGESIMILARITY_SHARED") is { Length: > 0 } env
            ? env
            : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    /// <summary>Gets the seed-sample data set folder, or <see langword="null"/> when it is absent.</summary>
    public static string? SeedSample
    {
        get
        {
            var dir = Path.Combine(Shared, "datasets", "seed-sample");
            return Directory.Exists(Path.Combine(dir, "images")) ? dir : null;
        }
    }

    /// <summary>
    /// Gets the seed-sample folder for a test that needs it: in CI a missing data set fails the test (CI always has
    /// ../shared beside the clone); elsewhere the test is skipped with the reason.
    /// </summary>
    /// <returns>The seed-sample folder (with its images/ folder).</returns>
    public static string RequireSeedSample()
    {
        if (SeedSample is { } dir)
        {
            return dir;
        }

        var reason = $"The seed-sample data set is not at {Path.Combine(Shared, "datasets", "seed-sample")} (set IMAGESIMILARITY_SHARED to the shared folder).";
        Assert.False(IsCi, "CI must have the seed sample: " + reason);
        Skip.If(true, reason);
        return string.Empty;
    }

    /// <summary>Gets a value indicating whether this run is CI (where optional prerequisites must be present).</summary>
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Creates a fresh temporary folder that is deleted when the returned handle is disposed.</summary>
    public static TempDirectory CreateTempDirectory(string prefix = "imgsim-test") => new(prefix);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ImageSimilarity.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Cannot find the repository root (ImageSimilarity.sln) above " + AppContext.BaseDirectory);
    }
}

/// <summary>A temporary folder deleted on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory(string prefix)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
