using System.Text.Json;
using ImageSimilarity.Storage;
using ImageSimilarity.TestSupport;
using Xunit.Abstractions;

namespace ImageSimilarity.Evaluation;

public sealed class RetrievalEvaluatorTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task EvaluateAsync_KerasVgg16Fc2SeedSample_EqualsNumpyReference()
    {
        var (names, vectors) = TestVectors.LoadSeedSample();
        var dir = TestPaths.RequireSeedSample();
        var reference = JsonDocument.Parse(PythonReference.Run(
            "evaluation_reference.py",
            Path.Combine(dir, "keras-vgg16-fc2.f32"),
            Path.Combine(dir, "keras-vgg16-fc2.names.txt"))).RootElement;
        await using var store = EmbeddedVectorStore.Create(4096, "keras-vgg16-fc2");
        await store.UpsertAsync(names.Select((n, i) => new VectorRecord(n, vectors[i])));

        var result = await RetrievalEvaluator.EvaluateAsync(store, r => EvaluationLabels.FromFileNamePrefix(r.Id));
        output.WriteLine($"P@1 {result.PrecisionAt1:F4} P@5 {result.PrecisionAt5:F4} P@10 {result.PrecisionAt10:F4} mAP {result.MeanAveragePrecision:F4}");

        const double Tolerance = 1e-12;
        Assert.Equal(88, result.Images);
        Assert.Equal(reference.GetProperty("queries").GetInt32(), result.Queries);
        Assert.Empty(result.Singletons);
        Assert.Equal(reference.GetProperty("p1").GetDouble(), result.PrecisionAt1, Tolerance);
        Assert.Equal(reference.GetProperty("p5").GetDouble(), result.PrecisionAt5, Tolerance);
        Assert.Equal(reference.GetProperty("p10").GetDouble(), result.PrecisionAt10, Tolerance);
        Assert.Equal(reference.GetProperty("map").GetDouble(), result.MeanAveragePrecision, Tolerance);

        // The seed sample's six categories, case folded (Cat5 and cat1 are one label).
        var perLabel = reference.GetProperty("perLabel").EnumerateObject().ToArray();
        Assert.Equal(["cat", "dog", "grapes", "mango", "micky", "stop"], result.PerLabel.Select(x => x.Label));
        Assert.Equal(perLabel.Select(p => p.Name), result.PerLabel.Select(x => x.Label));
        Assert.Equal([15, 15, 15, 15, 15, 13], result.PerLabel.Select(x => x.Images));
        foreach (var (row, expected) in result.PerLabel.Zip(perLabel))
        {
            var values = expected.Value.EnumerateArray().Select(v => v.GetDouble()).ToArray();
            Assert.Equal(values[0], row.PrecisionAt1, Tolerance);
            Assert.Equal(values[1], row.PrecisionAt5, Tolerance);
            Assert.Equal(values[2], row.PrecisionAt10, Tolerance);
            Assert.Equal(values[3], row.MeanAveragePrecision, Tolerance);
        }

        var confusions = reference.GetProperty("confusions").EnumerateArray()
            .Select(c => new LabelConfusion(c[0].GetString()!, c[1].GetString()!, c[2].GetInt32()))
            .ToArray();
        Assert.NotEmpty(confusions);
        Assert.Equal(confusions, result.Confusions);
    }

    [Fact]
    public void Evaluate_HandMadeRanking_GivesTheTextbookFigures()
    {
        // Unit vectors at these angles: a1 ranks a2, b1, a3, c1 (AP (1 + 2/3) / 2); a2 ranks a1, b1, a3, c1 (same);
        // a3 ranks b1, a2, a1, c1 (AP (1/2 + 2/3) / 2). b1 and c1 have no partner: distractors, not queries.
        LabelledVector[] items =
        [
            At("a1", "a", 0), At("a2", "a", 10), At("b1", "b", 40), At("a3", "a", 60), At("c1", "c", 180),
        ];

        var result = RetrievalEvaluator.Evaluate(items);

        Assert.Equal(5, result.Images);
        Assert.Equal(3, result.Queries);
        Assert.Equal(["b1", "c1"], result.Singletons);
        Assert.Equal(2 / 3.0, result.PrecisionAt1, 1e-12);
        Assert.Equal(2 / 5.0, result.PrecisionAt5, 1e-12);
        Assert.Equal(2 / 10.0, result.PrecisionAt10, 1e-12);
        Assert.Equal(((5 / 6.0) + (5 / 6.0) + (7 / 12.0)) / 3, result.MeanAveragePrecision, 1e-12);
        var a = Assert.Single(result.PerLabel);
        Assert.Equal(new LabelEvaluation("a", 3, result.PrecisionAt1, result.PrecisionAt5, result.PrecisionAt10, result.MeanAveragePrecision), a);
        Assert.Equal([new LabelConfusion("a", "b", 3), new LabelConfusion("a", "c", 3)], result.Confusions);
    }

    [Fact]
    public void Evaluate_BadItems_NameTheId()
    {
        var duplicate = Assert.Throws<ArgumentException>(() => RetrievalEvaluator.Evaluate([At("x", "a", 0), At("x", "a", 5)]));
        Assert.Equal("items", duplicate.ParamName);
        Assert.Contains("'x'", duplicate.Message, StringComparison.Ordinal);
        var zero = Assert.Throws<ArgumentException>(() => RetrievalEvaluator.Evaluate([At("x", "a", 0), new LabelledVector("z", "a", new float[2])]));
        Assert.Contains("'z'", zero.Message, StringComparison.Ordinal);
    }

    private static LabelledVector At(string id, string label, double degrees) =>
        new(id, label, new[] { (float)Math.Cos(degrees * Math.PI / 180), (float)Math.Sin(degrees * Math.PI / 180) });

    [Theory]
    [InlineData(0, "the index is empty")]
    [InlineData(1, "single image")]
    public async Task EvaluateAsync_TooSmallIndex_ThrowsAClearMessage(int count, string expected)
    {
        await using var store = EmbeddedVectorStore.Create(3, "test");
        await store.UpsertAsync(Enumerable.Range(0, count).Select(i => new VectorRecord($"cat{i}.jpg", new float[] { 1, i, 2 })));

        var ex = await Assert.ThrowsAsync<EvaluationException>(() => RetrievalEvaluator.EvaluateAsync(store, r => EvaluationLabels.FromFileNamePrefix(r.Id)));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EvaluateAsync_NoLabels_SaysHowToLabel()
    {
        await using var store = EmbeddedVectorStore.Create(3, "test");
        await store.UpsertAsync([new VectorRecord("a.jpg", new float[] { 1, 0, 0 }), new VectorRecord("b.jpg", new float[] { 0, 1, 0 })]);

        var ex = await Assert.ThrowsAsync<EvaluationException>(() => RetrievalEvaluator.EvaluateAsync(store, r => EvaluationLabels.FromFolder(r.Id)));
        Assert.Contains("none of the 2 images has a label", ex.Message, StringComparison.Ordinal);
        Assert.Contains("sub-folder", ex.Message, StringComparison.Ordinal);

        var unique = await Assert.ThrowsAsync<EvaluationException>(() => RetrievalEvaluator.EvaluateAsync(store, r => EvaluationLabels.FromFileNamePrefix(r.Id)));
        Assert.Contains("no two of the 2 images share a label", unique.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Cat5.jpeg", "cat")]
    [InlineData("sub/dir/grapes_12.png", "grapes")]
    [InlineData("123.jpg", null)]
    public void FromFileNamePrefix_StripsDigitsAndCase(string id, string? label) => Assert.Equal(label, EvaluationLabels.FromFileNamePrefix(id));

    [Theory]
    [InlineData("dogs/a.jpg", "dogs")]
    [InlineData("pets/dogs/a.jpg", "pets/dogs")]
    [InlineData("a.jpg", null)]
    public void FromFolder_IsTheRelativeFolder(string id, string? label) => Assert.Equal(label, EvaluationLabels.FromFolder(id));
}
