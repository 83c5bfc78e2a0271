using System.Numerics.Tensors;
using ImageSimilarity.Extraction;
using ImageSimilarity.Storage;
using ImageSimilarity.TestSupport;
using Xunit.Abstractions;

namespace ImageSimilarity.Duplicates;

/// <summary>
/// <c>SearchByImage duplicates</c> on the 88 seed-sample images plus transformed copies (<see cref="TransformedCopies"/>)
/// of one image per category, indexed with the random-weight VGG16 (<see cref="TestWeights"/>).
/// </summary>
[Collection(TorchCollection.Name)] // sequential: libtorch, and these tests redirect Console
public sealed class DuplicatesCommandTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string[] Originals = ["Dog1.jpeg", "cat1.jpeg", "grapes1.jpeg", "mango1.jpeg", "micky1.jpeg", "Stop1.jpeg"];
    private readonly TempDirectory _dir = TestPaths.CreateTempDirectory("imgsim-duplicates");

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public async Task Duplicates_SeedSampleWithCopies_GroupsEachOriginalWithItsCopiesOnly()
    {
        var images = Path.Combine(TestPaths.RequireSeedSample(), "images");
        var photos = Directory.CreateDirectory(_dir.Combine("photos")).FullName;
        var copies = Directory.CreateDirectory(Path.Combine(photos, "copies")).FullName;
        foreach (var file in Directory.EnumerateFiles(images))
        {
            var copy = Path.Combine(photos, Path.GetFileName(file));
            File.Copy(file, copy);
            File.SetLastWriteTimeUtc(copy, new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        }

        foreach (var original in Originals)
        {
            TransformedCopies.Write(Path.Combine(images, original), copies, Path.GetFileNameWithoutExtension(original));
        }

        var index = _dir.Combine("photos.db");
        var (indexCode, indexed) = await Cli.RunJsonAsync("index", photos, "--index", index, "--weights", TestWeights.RandomVgg16, "--json");
        Assert.Equal(0, indexCode);
        Assert.Equal(88 + (Originals.Length * TransformedCopies.Kinds.Length), indexed.GetProperty("indexed").GetInt32());

        await ReportSimilaritiesAsync(index);

        var html = _dir.Combine("report.html");
        Assert.Equal(0, await Cli.RunAsync("duplicates", "--index", index, "--html", html));
        var report = await File.ReadAllTextAsync(html);

        // Thumbnails are embedded (JPEG data: URIs of bounded size), so the report works when moved; names still link to the files.
        var thumbnails = System.Text.RegularExpressions.Regex.Matches(report, "<img [^>]*src=\"([^\"]*)\"").Select(m => m.Groups[1].Value).ToArray();
        Assert.InRange(thumbnails.Length, Originals.Length * 6, Originals.Length * 7); // 6 groups: the original, its 5 non-mirror copies, maybe its mirror
        Assert.All(thumbnails, src => Assert.StartsWith("data:image/jpeg;base64,", src, StringComparison.Ordinal));
        Assert.All(thumbnails, src => Assert.InRange(src.Length, 1_000, 64 * 1024));
        using (var thumbnail = SkiaSharp.SKBitmap.Decode(Convert.FromBase64String(thumbnails[0]["data:image/jpeg;base64,".Length..])))
        {
            Assert.Equal(SearchByImage.DuplicatesCommand.ThumbnailSide, Math.Max(thumbnail.Width, thumbnail.Height));
        }

        Assert.DoesNotContain("src=\"file:", report, StringComparison.Ordinal);
        Assert.Contains($"href=\"{new Uri(Path.Combine(photos, "Dog1.jpeg")).AbsoluteUri}\"", report, StringComparison.Ordinal);

        var (code, json) = await Cli.RunJsonAsync("duplicates", "--index", index, "--json");
        Assert.Equal(0, code);
        var groups = json.GetProperty("groups").EnumerateArray().Select(g => g.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("id").GetString()!).ToArray()).ToArray();
        foreach (var group in groups)
        {
            output.WriteLine(string.Join(", ", group));
        }

        foreach (var original in Originals)
        {
            var stem = Path.GetFileNameWithoutExtension(original);
            var group = Assert.Single(groups, g => g.Contains(original));

            // Every copy but the mirror joins its original: random-weight features are not mirror-invariant (a mirrored
            // copy scores 0.885 to 0.99, inside the range of distinct images); if it joins, it joins its own original.
            var mirror = $"copies/{stem}-mirror.jpg";
            var expected = TransformedCopies.Kinds.Where(k => k != "mirror").Select(k => $"copies/{stem}-{k}.jpg").Append(original);
            Assert.Equal(expected.Order(StringComparer.Ordinal), group.Where(id => id != mirror).Order(StringComparer.Ordinal));

            // Keeper: the most pixels (the original ties with its q30, brightened, mirrored and rotated copies), then the oldest file.
            Assert.Equal(original, group[0]);
        }

        // No two distinct seed originals together (the sample has no byte-identical files: an exact copy would be reported as such).
        foreach (var group in groups)
        {
            Assert.True(group.Count(id => !id.StartsWith("copies/", StringComparison.Ordinal)) <= 1, "distinct originals grouped: " + string.Join(", ", group));
        }

        // The precision/recall of "same original" pairs that docs/duplicates.md quotes for this model.
        await using var store = await EmbeddedVectorStore.OpenAsync(index);
        Assert.Equal(DuplicateFinderOptions.DefaultThreshold, json.GetProperty("threshold").GetSingle());
        var score = PairScores.Score(await DuplicateFinder.FindAsync(store), store.GetIds());
        output.WriteLine($"default {DuplicateFinderOptions.DefaultThreshold}: precision {score.Precision:F4} recall {score.Recall:F4} ({score.Right}/{score.Truth} true pairs, {score.Predicted} predicted)");
        output.WriteLine(await PairScores.SweepAsync(store, [0.95f, 0.96f, 0.97f, 0.975f, 0.978f, 0.981f, 0.984f, 0.987f, 0.99f]));
        Assert.Equal(1.0, score.Precision);
    }

    /// <summary>How far apart copies and distinct originals are: the numbers docs/duplicates.md quotes.</summary>
    private async Task ReportSimilaritiesAsync(string index)
    {
        await using var store = await EmbeddedVectorStore.OpenAsync(index);
        var ids = store.GetIds();
        var vectors = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            vectors[id] = (await store.GetAsync(id))!.Vector.ToArray();
        }

        var originals = ids.Where(id => !id.StartsWith("copies/", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
        var distinct = new List<float>();
        for (var i = 0; i < originals.Length; i++)
        {
            for (var j = i + 1; j < originals.Length; j++)
            {
                distinct.Add(TensorPrimitives.CosineSimilarity(vectors[originals[i]], vectors[originals[j]]));
            }
        }

        distinct.Sort();
        output.WriteLine($"distinct originals: {distinct.Count} pairs, max {distinct[^1]:F4}, 99.9th pct {distinct[(int)(distinct.Count * 0.999)]:F4}, median {distinct[distinct.Count / 2]:F4}");
        foreach (var kind in TransformedCopies.Kinds)
        {
            var sims = Originals.Select(o => TensorPrimitives.CosineSimilarity(vectors[o], vectors[$"copies/{Path.GetFileNameWithoutExtension(o)}-{kind}.jpg"])).ToArray();
            output.WriteLine($"copy {kind}: min {sims.Min():F4} mean {sims.Average():F4}");
        }
    }
}
