using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using ImageSimilarity.PgVector.TestSupport;
using ImageSimilarity.TestSupport;

namespace ImageSimilarity.PgVector.Samples;

/// <summary><c>--model</c> with <c>--store postgres</c>: the table is built with the model asked for, records it, and refuses another one.</summary>
[Collection(PostgresCollection.Name)]
public sealed class SearchByImagePostgresModelTests(PostgresFixture postgres)
{
    [SkippableFact]
    public async Task IndexAndSearch_ModelResNet18_UsesRecordsAndChecksTheModel()
    {
        postgres.Require();
        var sample = TestPaths.SeedSample;
        Skip.If(sample is null && !TestPaths.IsCi, "the seed sample is absent (set IMAGESIMILARITY_SHARED)");
        Assert.NotNull(sample);
        using var temp = TestPaths.CreateTempDirectory("pg-cli-model");
        var images = Directory.GetFiles(Path.Combine(sample, "images")).Order(StringComparer.Ordinal).Where(f => Path.GetFileName(f).StartsWith("Dog", StringComparison.Ordinal) || Path.GetFileName(f).StartsWith("Cat", StringComparison.Ordinal)).Take(6).ToArray();
        foreach (var image in images)
        {
            File.Copy(image, Path.Combine(temp.Path, Path.GetFileName(image)));
        }

        string[] store = ["--store", "postgres", "--connection", postgres.Server!.ConnectionString, "--table", PostgresFixture.NewTable("model")];

        var indexed = await RunAsync(["index", temp.Path, "--model", "resnet18", "--json", .. store]);
        Assert.True(indexed.ExitCode == 0, indexed.Output);
        using (var json = JsonDocument.Parse(indexed.Output))
        {
            Assert.StartsWith("resnet18/onnx-", json.RootElement.GetProperty("model").GetString(), StringComparison.Ordinal);
        }

        // The table records the model: a query image is extracted with ResNet18 without --model, and finds itself.
        var search = await RunAsync(["search", images[0], "--top", "1", "--json", .. store]);
        Assert.True(search.ExitCode == 0, search.Output);
        using (var json = JsonDocument.Parse(search.Output))
        {
            var top = json.RootElement.GetProperty("results")[0];
            Assert.Equal(Path.GetFileName(images[0]), Path.GetFileName(top.GetProperty("id").GetString()));
            Assert.True(top.GetProperty("similarity").GetSingle() > 0.9999f);
        }

        var info = await RunAsync(["info", "--json", .. store]);
        Assert.True(info.ExitCode == 0, info.Output);
        using (var json = JsonDocument.Parse(info.Output))
        {
            Assert.Equal(512, json.RootElement.GetProperty("dimension").GetInt32());
        }

        // Another model is refused with one clear line, for a search and for more indexing.
        var wrongSearch = await RunAsync(["search", images[0], "--model", "vgg16", .. store]);
        Assert.Equal(1, wrongSearch.ExitCode);
        Assert.Contains("was built with --model resnet18; --model vgg16 makes vectors that cannot be compared", wrongSearch.Output, StringComparison.Ordinal);
        var wrongIndex = await RunAsync(["index", temp.Path, "--model", "vgg16", .. store]);
        Assert.Equal(1, wrongIndex.ExitCode);
        Assert.Contains("was built with --model resnet18", wrongIndex.Output, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string[] arguments)
    {
        var dll = typeof(SearchByImagePostgresModelTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "Cli").Value!;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["IMAGESIMILARITY_PG"] = string.Empty;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, (await output) + (await error));
    }
}
