using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Chromium;

namespace SearchByImage.Web.TestSupport;

/// <summary>Debian's chromium and chromium-driver (installed by eng/install-prerequisites.sh --test); nothing is downloaded.</summary>
internal static class Chromium
{
    public const string Browser = "/usr/bin/chromium";
    public const string Driver = "/usr/bin/chromedriver";

    /// <summary>Skips (outside CI) or fails (in CI) when the browser or its driver is missing.</summary>
    public static void RequireAvailable()
    {
        var missing = new[] { Browser, Driver }.Where(p => !File.Exists(p)).ToList();
        if (missing.Count == 0)
        {
            return;
        }

        var reason = $"{string.Join(" and ", missing)} missing: run eng/install-prerequisites.sh --test (Debian's chromium and chromium-driver).";
        if (TestPaths.IsCi)
        {
            throw new InvalidOperationException("CI must have the browser: " + reason);
        }

        Skip.If(true, reason);
    }

    /// <summary>Starts headless chromium with a window of the given size.</summary>
    public static ChromeDriver Start(int width, int height, bool phone = false)
    {
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(Driver)!, Path.GetFileName(Driver));
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = Browser };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--hide-scrollbars", $"--window-size={width},{height}", "--force-device-scale-factor=1");
        if (phone)
        {
            // A window cannot be narrower than 500 px; emulate the phone's viewport (and touch) instead.
            options.EnableMobileEmulation(new ChromiumMobileEmulationDeviceSettings("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36") { Width = width, Height = height, PixelRatio = 1, EnableTouchEvents = true });
        }
        return new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }

    /// <summary>Gets the folder for screenshots: $IMAGESIMILARITY_ARTIFACTS, else artifacts/web in the repository (ignored by git).</summary>
    public static string ArtifactsFolder
    {
        get
        {
            var folder = Environment.GetEnvironmentVariable("IMAGESIMILARITY_ARTIFACTS") is { Length: > 0 } env
                ? Path.Combine(env, "web")
                : Path.Combine(TestPaths.RepoRoot, "artifacts", "web");
            Directory.CreateDirectory(folder);
            return folder;
        }
    }
}
