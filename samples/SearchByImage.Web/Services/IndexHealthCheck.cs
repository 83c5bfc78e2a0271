using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SearchByImage.Web.Services;

/// <summary>Healthy when the store answers and the upload queue has room; degraded when the queue is full.</summary>
internal sealed class IndexHealthCheck(IndexStatusService status) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var s = await status.GetAsync(cancellationToken).ConfigureAwait(false);
            var data = new Dictionary<string, object> { ["count"] = s.Count, ["model"] = s.Model, ["queuePending"] = s.QueuePending };
            return s.QueuePending >= s.QueueCapacity
                ? HealthCheckResult.Degraded("The upload queue is full.", data: data)
                : HealthCheckResult.Healthy($"{s.Count} images", data);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("The index does not answer.", ex);
        }
    }
}
