using ImageSimilarity.TestSupport;

namespace ImageSimilarity.Storage;

/// <summary>The shared <see cref="IVectorStore"/> contract (tests/Shared) run against the embedded store, file-backed.</summary>
public sealed class EmbeddedVectorStoreContractTests : VectorStoreContractTests, IDisposable
{
    private readonly TempDirectory _folder = TestPaths.CreateTempDirectory("imgsim-contract");

    public void Dispose() => _folder.Dispose();

    protected override async Task<IVectorStore> OpenAsync(string name, int dimension, string modelId)
        => await EmbeddedVectorStore.OpenOrCreateAsync(_folder.Combine(name + ".isvs"), dimension, modelId);
}
