using System.Globalization;
using System.Text;
using ImageSimilarity.Storage;

namespace ImageSimilarity.Duplicates;

/// <summary>
/// Precision and recall of "same original" pairs: every pair of images in one group is a predicted pair; it is right
/// when both come from the same seed image (an original <c>X.jpeg</c> and its copies <c>copies/X-kind.jpg</c>).
/// </summary>
internal static class PairScores
{
    /// <summary>The seed image an id comes from: the stem of the original, or of the copy without its kind.</summary>
    public static string Origin(string id)
    {
        var name = Path.GetFileNameWithoutExtension(id);
        return id.StartsWith("copies/", StringComparison.Ordinal) ? name[..name.LastIndexOf('-')] : name;
    }

    public static (double Precision, double Recall, long Predicted, long Right, long Truth, int DistinctOriginalsTogether) Score(IReadOnlyList<DuplicateGroup> groups, IEnumerable<string> ids)
    {
        var truth = ids.GroupBy(Origin).Sum(g => (long)g.Count() * (g.Count() - 1) / 2);
        long predicted = 0, right = 0;
        var distinct = 0;
        foreach (var group in groups)
        {
            var members = group.Members.Select(m => m.Id).ToArray();
            for (var i = 0; i < members.Length; i++)
            {
                for (var j = i + 1; j < members.Length; j++)
                {
                    predicted++;
                    if (Origin(members[i]) == Origin(members[j]))
                    {
                        right++;
                    }
                }
            }

            distinct += Math.Max(0, members.Where(id => !id.StartsWith("copies/", StringComparison.Ordinal)).Count() - 1);
        }

        return (predicted == 0 ? 1 : (double)right / predicted, truth == 0 ? 1 : (double)right / truth, predicted, right, truth, distinct);
    }

    /// <summary>A markdown table of precision and recall over thresholds, with and without the keeper guard.</summary>
    public static async Task<string> SweepAsync(IVectorStore store, IEnumerable<float> thresholds)
    {
        var ids = new List<string>();
        await foreach (var record in store.ListAsync())
        {
            ids.Add(record.Id);
        }

        var table = new StringBuilder("| threshold | precision | recall | pairs found / true | distinct originals together | chains (no guard): precision | recall | distinct originals together |\n|---|---|---|---|---|---|---|---|\n");
        foreach (var threshold in thresholds)
        {
            var guarded = Score(await DuplicateFinder.FindAsync(store, new DuplicateFinderOptions { Threshold = threshold }), ids);
            var chained = Score(await DuplicateFinder.FindAsync(store, new DuplicateFinderOptions { Threshold = threshold, RequireSimilarityToKeeper = false }), ids);
            table.Append(CultureInfo.InvariantCulture, $"| {threshold:F3} | {guarded.Precision:F4} | {guarded.Recall:F4} | {guarded.Right} / {guarded.Truth} | {guarded.DistinctOriginalsTogether} | {chained.Precision:F4} | {chained.Recall:F4} | {chained.DistinctOriginalsTogether} |\n");
        }

        return table.ToString();
    }
}
