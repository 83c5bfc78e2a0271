using System.Globalization;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace SearchByImage.Web;

/// <summary>The page in a real browser: Debian's headless chromium driven by Selenium, against the app on Kestrel at 127.0.0.1.</summary>
[Collection(WebCollection.Name)]
public sealed class BrowserTests(SeedIndex index)
{
    [SkippableTheory]
    [InlineData("laptop", 1366, 900)]
    [InlineData("phone", 390, 844)]
    public async Task UploadDog_ShowsNineScoredResults_ClickSearchesAgain(string screen, int width, int height)
    {
        index.Require();
        Chromium.RequireAvailable();
        await using var factory = new WebAppFactory(index, kestrel: true);
        factory.StartServer();
        var baseUrl = factory.ServerAddress;
        Assert.Equal("127.0.0.1", baseUrl.Host);

        using var driver = Chromium.Start(width, height, phone: screen == "phone");
        try
        {
            await RunAsync(driver, baseUrl, screen);
        }
        catch
        {
            // Leave what the browser saw next to the screenshots.
            Screenshot(driver, $"{screen}-failure.png");
            await File.WriteAllTextAsync(Path.Combine(Chromium.ArtifactsFolder, $"{screen}-failure.html"), driver.PageSource);
            await File.WriteAllLinesAsync(
                Path.Combine(Chromium.ArtifactsFolder, $"{screen}-failure-console.txt"),
                driver.Manage().Logs.GetLog(LogType.Browser).Select(e => $"{e.Level} {e.Message}"));
            throw;
        }
    }

    private async Task RunAsync(ChromeDriver driver, Uri baseUrl, string screen)
    {
        var wait = new WebDriverWait(driver, TimeSpan.FromSeconds(45));
        driver.Navigate().GoToUrl(baseUrl);
        Assert.Equal("Search by image", driver.Title);
        wait.Until(d => d.FindElement(By.Id("status-count")).GetDomProperty("textContent") == "88");

        // Upload Dog1.jpeg through the file input (what "choose a file" opens).
        driver.FindElement(By.Id("file-input")).SendKeys(Path.Combine(index.ImagesFolder, "Dog1.jpeg"));
        wait.Until(d => d.FindElements(By.CssSelector("#results .result")).Count == 9 && !d.FindElement(By.Id("busy")).Displayed);
        Assert.Equal("Dog1.jpeg", driver.FindElement(By.Id("query-name")).Text);
        var first = Results(driver);
        Assert.Equal(9, first.Count);
        Assert.Equal("Dog1.jpeg", first[0].Name);
        Assert.All(first, r => Assert.InRange(r.Score, -1f, 1.0005f));
        Assert.Equal(first.Select(r => r.Score).OrderDescending(), first.Select(r => r.Score));
        wait.Until(d => AllThumbnailsLoaded(d));
        Screenshot(driver, $"{screen}-upload.png");

        // Click the second result: the page searches with it by id.
        var clicked = first[1];
        driver.FindElements(By.CssSelector("#results .result button"))[1].Click();
        wait.Until(d => d.FindElement(By.Id("query-name")).Text == clicked.Name
            && !d.FindElement(By.Id("busy")).Displayed
            && Results(d).Count == 9
            && Results(d).All(r => r.Id != clicked.Id));
        Assert.Contains("id=" + Uri.EscapeDataString(clicked.Id), driver.Url, StringComparison.Ordinal);
        var second = Results(driver);
        Assert.NotEqual(first.Select(r => r.Id), second.Select(r => r.Id));
        wait.Until(d => AllThumbnailsLoaded(d));
        Screenshot(driver, $"{screen}-by-id.png");

        // Drag and drop: a real DataTransfer holding a File with the bytes of cat1.jpeg, dropped on the drop zone.
        var cat = Path.Combine(index.ImagesFolder, "cat1.jpeg");
        DispatchFile(driver, cat, "cat1.jpeg", "image/jpeg", """
            const zone = document.getElementById("drop-zone");
            zone.dispatchEvent(new DragEvent("dragenter", { dataTransfer: transfer, bubbles: true, cancelable: true }));
            zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
            zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
            """);
        wait.Until(d => d.FindElement(By.Id("query-name")).Text == "cat1.jpeg" && !d.FindElement(By.Id("busy")).Displayed && Results(d).Count == 9);
        var dropped = Results(driver);
        Assert.Equal("cat1.jpeg", dropped[0].Id);
        Assert.True(dropped[0].Score > 0.999f, $"{dropped[0].Score}");
        Assert.Equal(dropped.Select(r => r.Score).OrderDescending(), dropped.Select(r => r.Score));
        Assert.DoesNotContain("?id=", driver.Url, StringComparison.Ordinal);
        wait.Until(d => AllThumbnailsLoaded(d));
        Screenshot(driver, $"{screen}-drop.png");

        // Paste: a real ClipboardEvent whose clipboardData holds a PNG file, as a screenshot pasted with Ctrl+V
        // arrives (the browser names it image.png); the seed sample's PNGs are named .jpeg.
        var png = Directory.EnumerateFiles(index.ImagesFolder).Order(StringComparer.Ordinal).First(f => File.ReadAllBytes(f).AsSpan().StartsWith((byte[])[0x89, (byte)'P', (byte)'N', (byte)'G']));
        DispatchFile(driver, png, "image.png", "image/png", """
            document.dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true }));
            """);
        wait.Until(d => d.FindElement(By.Id("query-name")).Text == "image.png" && !d.FindElement(By.Id("busy")).Displayed && Results(d).Count == 9);
        var pasted = Results(driver);
        Assert.Equal(Path.GetFileName(png), pasted[0].Id);
        Assert.True(pasted[0].Score > 0.999f, $"{pasted[0].Score}");
        Assert.NotEqual(dropped.Select(r => r.Id), pasted.Select(r => r.Id));
        wait.Until(d => AllThumbnailsLoaded(d));
        Screenshot(driver, $"{screen}-paste.png");

        // A file that is not an image gets a clear message.
        var text = Path.Combine(index.Scratch, $"notes-{screen}.jpg");
        await File.WriteAllTextAsync(text, "not a picture");
        driver.FindElement(By.Id("file-input")).SendKeys(text);
        wait.Until(d => d.FindElement(By.Id("error")).Displayed);
        Assert.Contains("not an image", driver.FindElement(By.Id("error")).Text, StringComparison.OrdinalIgnoreCase);

        // Nothing on the page failed to load or broke the content security policy.
        var problems = driver.Manage().Logs.GetLog(LogType.Browser).Where(e => e.Level >= LogLevel.Severe && !e.Message.Contains("415", StringComparison.Ordinal)).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems.Select(p => p.Message)));
    }

    /// <summary>Puts a file with the bytes of <paramref name="path"/> into a new DataTransfer (<c>transfer</c>) in the page and runs <paramref name="dispatch"/> with it.</summary>
    private static void DispatchFile(IWebDriver driver, string path, string name, string type, string dispatch)
        => ((IJavaScriptExecutor)driver).ExecuteScript(
            """
            const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], arguments[1], { type: arguments[2] }));
            """ + dispatch,
            Convert.ToBase64String(File.ReadAllBytes(path)),
            name,
            type);

    private static List<(string Id, string Name, float Score)> Results(IWebDriver driver)
        => driver.FindElements(By.CssSelector("#results .result button")).Select(b => (
            b.GetAttribute("data-id") ?? "",
            b.FindElement(By.CssSelector(".name")).Text,
            float.Parse(b.FindElement(By.CssSelector(".score")).Text, CultureInfo.InvariantCulture))).ToList();

    private static bool AllThumbnailsLoaded(IWebDriver driver)
        => (bool)((IJavaScriptExecutor)driver).ExecuteScript(
            "return Array.from(document.querySelectorAll('#results img')).every(i => i.complete && i.naturalWidth > 0);")!;

    private static void Screenshot(ChromeDriver driver, string name)
    {
        var path = Path.Combine(Chromium.ArtifactsFolder, name);
        driver.GetScreenshot().SaveAsFile(path);
        Assert.True(new FileInfo(path).Length > 10_000, path);
    }
}
