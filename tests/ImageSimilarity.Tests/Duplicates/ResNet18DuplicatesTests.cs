using ImageSimilarity.Extraction;
using ImageSimilarity.Storage;
using ImageSimilarity.TestSupport;
using Xunit.Abstractions;

namespace ImageSimilarity.Duplicates;

/// <summary>
/// <c>SearchByImage duplicates</c> with the real pretrained ResNet18 (the NuGet model, <c>--model resnet18</c>) on the 88
/// seed-sample images plus the six transformed copies of every one of them (<see cref="TransformedCopies"/>, 528
/// copies): at the model's default threshold no two distinct originals are grouped, and most copies join their
/// original. Also prints the precision/recall sweep that docs/duplicates.md quotes.
/// </summary>
[Collection(TorchCollection.Name)] // sequential: these tests redirect Console
public sealed class ResNet18DuplicatesTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _dir = TestPaths.CreateTempDirectory("imgsim-dupes-resnet");

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public async Task Duplicates_ResNet18DefaultThreshold_NeverGroupsDistinctOriginals()
    {
        var images = Path.Combine(TestPaths.RequireSeedSample(), "images");
        var photos = Directory.CreateDirectory(_dir.Combine("photos")).FullName;
        var copies = Directory.CreateDirectory(Path.Combine(photos, "copies")).FullName;
        foreach (var file in Directory.EnumerateFiles(images))
        {
            var copy = Path.Combine(photos, Path.GetFileName(file));
            File.Copy(file, copy);
            File.SetLastWriteTimeUtc(copy, new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));
            TransformedCopies.Write(file, copies, Path.GetFileNameWithoutExtension(file));
        }

        var index = _dir.Combine("photos.db");
        var (indexCode, indexed) = await Cli.RunJsonAsync("index", photos, "--index", index, "--model", "resnet18", "--json");
        Assert.Equal(0, indexCode);
        Assert.Equal(88 * (1 + TransformedCopies.Kinds.Length), indexed.GetProperty("indexed").GetInt32());

        var (code, json) = await Cli.RunJsonAsync("duplicates", "--index", index, "--json");
        Assert.Equal(0, code);
        Assert.Equal(DuplicateFinderOptions.DefaultResNet18Threshold, json.GetProperty("threshold").GetSingle());
        var groups = json.GetProperty("groups").EnumerateArray()
            .Select(g => g.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("id").GetString()!).ToArray())
            .ToArray();

        // Never two distinct seed originals in one group, and no copy grouped with another image's copies only.
        foreach (var group in groups)
        {
            Assert.True(group.Count(id => !id.StartsWith("copies/", StringComparison.Ordinal)) <= 1, "distinct originals grouped: " + string.Join(", ", group));
        }

        await using var store = await EmbeddedVectorStore.OpenAsync(index);
        var found = await DuplicateFinder.FindAsync(store);
        var score = PairScores.Score(found, store.GetIds());
        output.WriteLine($"default {DuplicateFinderOptions.DefaultResNet18Threshold}: precision {score.Precision:F4} recall {score.Recall:F4} ({score.Right}/{score.Truth} true pairs, {score.Predicted} predicted)");
        output.WriteLine(await PairScores.SweepAsync(store, [0.85f, 0.87f, 0.89f, 0.90f, 0.91f, 0.92f, 0.93f, 0.94f, 0.95f, 0.96f, 0.97f, 0.98f]));
        Assert.Equal(0, score.DistinctOriginalsTogether);
        Assert.True(score.Precision >= 0.99, $"precision {score.Precision}");
        Assert.True(score.Recall >= 0.5, $"recall {score.Recall}");
    }
}
