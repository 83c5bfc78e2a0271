namespace ImageSimilarity.TestSupport;

/// <summary>The seed sample's images (88 real photos), required in CI.</summary>
internal static class SeedImages
{
    public static string Folder
    {
        get
        {
            var dir = TestPaths.SeedSample;
            if (dir is null)
            {
                if (TestPaths.IsCi)
                {
                    throw new InvalidOperationException("CI must have the seed sample at ../shared/datasets/seed-sample.");
                }

                Skip.If(true, "The seed sample (../shared/datasets/seed-sample) is not present.");
            }

            return Path.Combine(dir!, "images");
        }
    }

    public static string[] Files => Directory.GetFiles(Folder).OrderBy(f => f, StringComparer.Ordinal).ToArray();
}
