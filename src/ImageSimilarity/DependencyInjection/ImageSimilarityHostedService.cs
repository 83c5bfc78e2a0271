using Microsoft.Extensions.Hosting;

namespace ImageSimilarity;

/// <summary>Loads the registered extractor and store when the host starts, and saves the store when it stops.</summary>
internal sealed class ImageSimilarityHostedService(ImageSimilarityResources resources) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => resources.InitializeAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => resources.SaveAsync(cancellationToken);
}
