using System.Net;
using SearchByImage.Web.Services;

namespace SearchByImage.Web;

/// <summary>The bounded extraction queue: 503 with Retry-After when full, and cancelled requests leave it.</summary>
[Collection(WebCollection.Name)]
public sealed class QueueTests(SeedIndex index)
{
    [SkippableFact]
    public async Task FullQueue_Answers503WithRetryAfter_AndRecovers()
    {
        index.Require();
        await using var factory = new WebAppFactory(index, new Dictionary<string, string?>
        {
            ["SearchByImage:MaxQueuedExtractions"] = "1",
            ["SearchByImage:MaxBatch"] = "1",
        });
        using var client = factory.CreateClient();
        var bytes = await File.ReadAllBytesAsync(Path.Combine(index.ImagesFolder, "Dog1.jpeg"));
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => client.PostAsync("/api/search", Http.Upload(bytes, "Dog1.jpeg"))));
        try
        {
            Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, r.StatusCode.ToString()));
            Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK);
            var busy = responses.Where(r => r.StatusCode == HttpStatusCode.ServiceUnavailable).ToList();
            Assert.NotEmpty(busy);
            foreach (var r in busy)
            {
                await r.AssertProblemAsync(503, "queue-full");
                var retryAfter = int.Parse(r.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
                Assert.InRange(retryAfter, 1, 60);
            }
        }
        finally
        {
            foreach (var r in responses)
            {
                r.Dispose();
            }
        }

        Assert.Equal(0, factory.Services.GetRequiredService<ExtractionQueue>().Pending);
        using var later = await client.PostAsync("/api/search", Http.Upload(bytes, "Dog1.jpeg"));
        Assert.Equal(HttpStatusCode.OK, later.StatusCode);
    }

    [SkippableFact]
    public async Task CancelledUploads_LeaveTheQueueWithoutBeingExtracted()
    {
        index.Require();
        await using var factory = new WebAppFactory(index, new Dictionary<string, string?>
        {
            ["SearchByImage:MaxQueuedExtractions"] = "16",
            ["SearchByImage:MaxBatch"] = "1",
        });
        var queue = factory.Services.GetRequiredService<ExtractionQueue>();
        var bytes = await File.ReadAllBytesAsync(Path.Combine(index.ImagesFolder, "Dog1.jpeg"));

        // Twelve uploads wait behind one another (batches of one); the clients give up at once.
        using var cts = new CancellationTokenSource();
        var waiting = Enumerable.Range(0, 12).Select(_ => queue.ExtractAsync(bytes, "Dog1.jpeg", cts.Token)).ToList();
        await WaitUntil(() => queue.Pending == 12 || waiting.Any(t => t.IsCompleted));
        cts.Cancel();
        var outcomes = await Task.WhenAll(waiting.Select(async t =>
        {
            try
            {
                await t;
                return "extracted";
            }
            catch (OperationCanceledException)
            {
                return "cancelled";
            }
        }));

        await WaitUntil(() => queue.Pending == 0);
        Assert.Equal(0, queue.Pending);
        Assert.True(outcomes.Count(o => o == "cancelled") >= 8, string.Join(",", outcomes));

        // The queue still works.
        var vector = await queue.ExtractAsync(bytes, "Dog1.jpeg", CancellationToken.None);
        Assert.Equal(4096, vector.Length);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 600 && !condition(); i++)
        {
            await Task.Delay(50);
        }
    }
}
