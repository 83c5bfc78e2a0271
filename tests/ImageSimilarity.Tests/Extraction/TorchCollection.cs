namespace ImageSimilarity.Extraction;

/// <summary>Tests that touch libtorch (thread-static dispose scopes, process-wide thread count) run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchCollection : ICollectionFixture<Vgg16ReferenceFixture>, ICollectionFixture<SmallCheckpointFixture>
{
    public const string Name = "Torch";
}
