using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;
using ImageSimilarity.TestSupport;
using Microsoft.Extensions.AI;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>Any extractor as a Microsoft.Extensions.AI embedding generator, here with the real ResNet18.</summary>
public sealed class EmbeddingGeneratorTests
{
    [SkippableFact]
    public async Task GenerateAsync_Images_SameVectorsAsExtractorWithModelId()
    {
        var files = SeedImages.Files.Take(5).ToArray();
        using var extractor = await ResNet18Model.LoadAsync();
        var generator = extractor.AsEmbeddingGenerator();
        var contents = files.Select(f => new DataContent(File.ReadAllBytes(f), "image/jpeg") { Name = Path.GetFileName(f) }).ToList();

        var embeddings = await generator.GenerateAsync(contents);
        var expected = await extractor.ExtractAsync(files.Select(ImageInput.FromFile).ToList());

        Assert.Equal(files.Length, embeddings.Count);
        for (var i = 0; i < files.Length; i++)
        {
            Assert.Equal(expected[i], embeddings[i].Vector.ToArray());
            Assert.Equal(extractor.ModelId, embeddings[i].ModelId);
            Assert.Equal(512, embeddings[i].Dimensions);
        }

        var metadata = generator.GetService<EmbeddingGeneratorMetadata>();
        Assert.NotNull(metadata);
        Assert.Equal(extractor.ModelId, metadata.DefaultModelId);
        Assert.Equal(512, metadata.DefaultModelDimensions);
        Assert.Same(extractor, generator.GetService<IFeatureExtractor>());

        // Not owned: disposing the generator leaves the extractor usable.
        generator.Dispose();
        Assert.Single(await extractor.ExtractAsync([ImageInput.FromFile(files[0])]));
    }

    [SkippableFact]
    public async Task GenerateAsync_NotAnImageOrNoData_ThrowsNamingTheItem()
    {
        using var extractor = await ResNet18Model.LoadAsync();
        using var generator = extractor.AsEmbeddingGenerator();
        var text = await Assert.ThrowsAsync<ArgumentException>(() => generator.GenerateAsync([new DataContent("hello"u8.ToArray(), "text/plain") { Name = "note.txt" }]));
        Assert.Contains("('note.txt') has media type 'text/plain'", text.Message, StringComparison.Ordinal);
        var empty = await Assert.ThrowsAsync<ArgumentException>(() => generator.GenerateAsync([new DataContent(ReadOnlyMemory<byte>.Empty, "image/png") { Name = "empty.png" }]));
        Assert.Contains("('empty.png') holds no data", empty.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ImageDecodeException>(() => generator.GenerateAsync([new DataContent(new byte[] { 1, 2, 3, 4 }, "image/png") { Name = "broken.png" }]));
        var dims = await Assert.ThrowsAsync<ArgumentException>(() => generator.GenerateAsync([], new EmbeddingGenerationOptions { Dimensions = 256 }));
        Assert.Equal("options", dims.ParamName);
    }
}
