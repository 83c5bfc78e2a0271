using System.Globalization;

namespace ImageSimilarity.TestSupport;

/// <summary>Leave-one-out retrieval quality on the seed sample: category = file name without digits, case-insensitive.</summary>
internal static class RetrievalMetrics
{
    public static string Category(string fileName)
        => new string(Path.GetFileNameWithoutExtension(fileName).Where(c => !char.IsAsciiDigit(c)).ToArray()).ToLowerInvariant();

    /// <summary>Precision at 1 and mean average precision over rankings that exclude the query.</summary>
    /// <param name="rankings">Per query id: the other ids, best first (every other image).</param>
    public static (double PrecisionAt1, double MeanAveragePrecision) Evaluate(IReadOnlyDictionary<string, IReadOnlyList<string>> rankings)
    {
        var categories = rankings.Keys.GroupBy(Category).ToDictionary(g => g.Key, g => g.Count());
        double p1 = 0, map = 0;
        foreach (var (query, ranked) in rankings)
        {
            var category = Category(query);
            var relevantTotal = categories[category] - 1;
            Assert.DoesNotContain(query, ranked);
            if (ranked.Count > 0 && Category(ranked[0]) == category)
            {
                p1++;
            }

            var hits = 0;
            double sum = 0;
            for (var i = 0; i < ranked.Count; i++)
            {
                if (Category(ranked[i]) == category)
                {
                    hits++;
                    sum += (double)hits / (i + 1);
                }
            }

            Assert.Equal(relevantTotal, hits);
            map += relevantTotal == 0 ? 0 : sum / relevantTotal;
        }

        return (p1 / rankings.Count, map / rankings.Count);
    }

    public static string Format((double PrecisionAt1, double MeanAveragePrecision) m)
        => string.Create(CultureInfo.InvariantCulture, $"P@1 {m.PrecisionAt1:F3}, mAP {m.MeanAveragePrecision:F3}");
}
