using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using ImageSimilarity.PgVector.TestSupport;
using ImageSimilarity.TestSupport;

namespace ImageSimilarity.PgVector.Samples;

/// <summary>The SearchByImage CLI with <c>--store postgres</c>, run as a real child process against the test server.</summary>
[Collection(PostgresCollection.Name)]
public sealed class SearchByImagePostgresTests(PostgresFixture postgres)
{
    [SkippableFact]
    public async Task ImportSearchByIdInfoAndApproximateIndex_WorkAgainstPostgres()
    {
        postgres.Require();
        var sample = TestPaths.SeedSample;
        Skip.If(sample is null && !TestPaths.IsCi, "the seed sample is absent (set IMAGESIMILARITY_SHARED)");
        Assert.NotNull(sample);
        var table = PostgresFixture.NewTable("cli");
        string[] store = ["--store", "postgres", "--connection", postgres.Server!.ConnectionString, "--table", table];

        var import = await RunAsync(["import", Path.Combine(sample, "keras-vgg16-fc2.f32"), "--names", Path.Combine(sample, "keras-vgg16-fc2.names.txt"), "--images", Path.Combine(sample, "images"), "--model-id", "keras-vgg16-fc2", .. store]);
        Assert.True(import.ExitCode == 0, import.Output);
        Assert.Contains("imported 88 vectors of 4096 floats", import.Output, StringComparison.Ordinal);

        var search = await RunAsync(["search", "--id", "Dog1.jpeg", "--exclude-self", "--top", "5", "--json", .. store]);
        Assert.True(search.ExitCode == 0, search.Output);
        using (var json = JsonDocument.Parse(search.Output))
        {
            var results = json.RootElement.GetProperty("results").EnumerateArray().ToArray();
            Assert.Equal(5, results.Length);
            Assert.DoesNotContain(results, r => r.GetProperty("id").GetString() == "Dog1.jpeg");
            Assert.All(results, r => Assert.StartsWith("Dog", r.GetProperty("id").GetString(), StringComparison.Ordinal));
        }

        var build = await RunAsync(["approximate-index", "--codes", "median", .. store]);
        Assert.True(build.ExitCode == 0, build.Output);
        var approximate = await RunAsync(["search", "--id", "Dog1.jpeg", "--exclude-self", "--top", "5", "--json", "--approximate", "--candidates", "40", .. store]);
        Assert.True(approximate.ExitCode == 0, approximate.Output);
        Assert.Equal(Ids(search.Output), Ids(approximate.Output));

        var info = await RunAsync(["info", "--json", .. store]);
        Assert.True(info.ExitCode == 0, info.Output);
        using (var json = JsonDocument.Parse(info.Output))
        {
            Assert.Equal(88, json.RootElement.GetProperty("images").GetInt32());
            Assert.Equal("median", json.RootElement.GetProperty("approximateIndex").GetString());
        }

        var wrongTable = await RunAsync(["info", "--store", "postgres", "--connection", postgres.Server.ConnectionString, "--table", "nothing_here"]);
        Assert.Equal(1, wrongTable.ExitCode);
        Assert.Contains("nothing_here", wrongTable.Output, StringComparison.Ordinal);
        var noConnection = await RunAsync(["info", "--store", "postgres"]);
        Assert.Equal(1, noConnection.ExitCode);
        Assert.Contains("--connection", noConnection.Output, StringComparison.Ordinal);
        var status = await RunAsync(["index", "--status", .. store]);
        Assert.True(status.ExitCode == 0, status.Output);
        Assert.Contains("files 0/0 done", status.Output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task IndexFolder_HonoursIncludeExclude_AndRemovesRecordsOfDeletedFiles_LikeTheEmbeddedIndex()
    {
        postgres.Require();
        var sample = TestPaths.SeedSample;
        Skip.If(sample is null && !TestPaths.IsCi, "the seed sample is absent (set IMAGESIMILARITY_SHARED)");
        Assert.NotNull(sample);
        using var folder = TestPaths.CreateTempDirectory("imgsim-pgcli");
        var images = Directory.GetFiles(Path.Combine(sample, "images")).Order(StringComparer.Ordinal).ToArray();
        Directory.CreateDirectory(folder.Combine("skip"));
        File.Copy(images[0], folder.Combine("a.jpeg"));
        File.Copy(images[1], folder.Combine("b.jpeg"));
        File.Copy(images[2], folder.Combine("c.png"));
        File.Copy(images[3], folder.Combine("skip", "d.jpeg"));
        var table = PostgresFixture.NewTable("clix");
        string[] command =
        [
            "index", folder.Path, "--include", "*.jpeg", "--exclude", "skip/**", "--json", "--weights", TestWeights.RandomVgg16, "--precision", "bf16",
            "--store", "postgres", "--connection", postgres.Server!.ConnectionString, "--table", table,
        ];

        var first = await RunAsync(command);
        Assert.True(first.ExitCode == 0, first.Output);
        Assert.Equal((2, 0), Summary(first.Output));
        Assert.Equal([folder.Combine("a.jpeg"), folder.Combine("b.jpeg")], await StoredIdsAsync(table));

        File.Delete(folder.Combine("b.jpeg"));
        var second = await RunAsync(command);
        Assert.True(second.ExitCode == 0, second.Output);
        Assert.Equal((0, 1), Summary(second.Output));
        Assert.Equal([folder.Combine("a.jpeg")], await StoredIdsAsync(table));

        var listing = folder.Combine("listing.txt");
        await File.WriteAllTextAsync(listing, folder.Combine("a.jpeg"));
        var refused = await RunAsync(["index", listing, "--include", "*.jpeg", "--weights", TestWeights.RandomVgg16, "--store", "postgres", "--connection", postgres.Server.ConnectionString, "--table", table]);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("--include and --exclude apply to a folder", refused.Output, StringComparison.Ordinal);
    }

    /// <summary>(enqueued, removed) from the JSON line of <c>index --json</c>.</summary>
    private static (int Enqueued, int Removed) Summary(string output)
    {
        // The JSON object is stdout (indented); stderr, appended after it, carries no braces.
        var json = output[output.IndexOf('{', StringComparison.Ordinal)..(output.LastIndexOf('}') + 1)];
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        return (root.GetProperty("enqueued").GetInt32(), root.GetProperty("removed").GetInt32());
    }

    private async Task<string[]> StoredIdsAsync(string table)
    {
        await using var command = postgres.DataSource!.CreateCommand($"SELECT id FROM {table} ORDER BY id");
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new List<string>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return [.. ids];
    }

    private static string[] Ids(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("id").GetString()!).ToArray();
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string[] arguments)
    {
        var dll = typeof(SearchByImagePostgresTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "Cli").Value!;
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
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, (await output) + (await error));
    }
}
