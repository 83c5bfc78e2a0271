using System.Diagnostics;
using System.Text.RegularExpressions;
using ImageSimilarity.TestSupport;

namespace ImageSimilarity.Storage;

/// <summary>The sqlite3 shell queries of docs/storage.md run as documented against an index this library wrote.</summary>
public sealed partial class Sqlite3ShellTests
{
    [SkippableFact]
    public async Task DocumentedQueries_RunInTheSqlite3Shell()
    {
        var shell = new[] { "/usr/bin/sqlite3", "/usr/local/bin/sqlite3" }.FirstOrDefault(File.Exists);
        Assert.False(shell is null && TestPaths.IsCi, "sqlite3 is missing: eng/install-prerequisites.sh --test installs it");
        Skip.If(shell is null, "the sqlite3 shell is not installed (eng/install-prerequisites.sh --test installs Debian's sqlite3)");

        var doc = await File.ReadAllTextAsync(Path.Combine(TestPaths.RepoRoot, "docs", "storage.md"));
        var commands = ShellLine().Matches(doc).Select(m => m.Groups[1].Value).ToList();
        Assert.True(commands.Count >= 5, "docs/storage.md shows fewer sqlite3 queries than expected");

        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("index.db");
        await using (var store = await EmbeddedVectorStore.OpenOrCreateAsync(path, 8, "vgg16-fc2", new EmbeddedVectorStoreOptions { Precision = VectorPrecision.Half }))
        {
            store.Properties["preset"] = "torchvision";
            await store.UpsertAsync(TestVectors.Random(1, 12, 8).Select((v, i) => new VectorRecord(i == 0 ? "Dog1.jpeg" : $"img{i}.jpeg", v, new Dictionary<string, string> { [RecordMetadata.Path] = $"/photos/img{i}.jpeg" })));
        }

        var outputs = new List<string>();
        foreach (var command in commands)
        {
            var psi = new ProcessStartInfo(shell!);
            foreach (var arg in SplitArgs(command))
            {
                psi.ArgumentList.Add(arg == "index.db" ? path : arg);
            }

            var (code, stdout, stderr) = await Task.Run(() => ChildProcess.Run(psi, ChildProcess.ShortTimeout));
            Assert.True(code == 0, $"'sqlite3 {command}' failed: {stderr}");
            outputs.Add(stdout);
        }

        var all = string.Join("\n", outputs);
        Assert.Contains("ImageSimilarity.VectorIndex", all, StringComparison.Ordinal);
        Assert.Contains("float16", all, StringComparison.Ordinal);
        Assert.Contains("/photos/img1.jpeg", all, StringComparison.Ordinal);
        Assert.Contains("ok", all, StringComparison.Ordinal);

        // The documented delete took effect, and the library still opens the file and agrees.
        await using var reopened = await EmbeddedVectorStore.OpenAsync(path);
        Assert.Equal(11, reopened.Count);
        Assert.Null(await reopened.GetAsync("Dog1.jpeg"));
    }

    // Lines of the form: sqlite3 [-readonly] index.db "SQL" in the doc's shell blocks.
    [GeneratedRegex("^sqlite3 (.+)$", RegexOptions.Multiline)]
    private static partial Regex ShellLine();

    private static IEnumerable<string> SplitArgs(string command)
    {
        var parts = new List<string>();
        var i = 0;
        while (i < command.Length)
        {
            if (command[i] == ' ')
            {
                i++;
                continue;
            }

            if (command[i] == '"')
            {
                var end = command.IndexOf('"', i + 1);
                parts.Add(command[(i + 1)..end]);
                i = end + 1;
                continue;
            }

            var space = command.IndexOf(' ', i);
            var stop = space < 0 ? command.Length : space;
            parts.Add(command[i..stop]);
            i = stop;
        }

        return parts;
    }
}
