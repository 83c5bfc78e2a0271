using System.Net;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using ImageSimilarity.Indexing;
using Microsoft.Extensions.Options;

namespace SearchByImage.Web.Api;

/// <summary>
/// The optional admin endpoint: <c>POST /admin/index</c> indexes the configured folder into the app's index and
/// streams the progress as Server-Sent Events. Mapped only when <see cref="WebAppOptions.AdminIndexFolder"/> is
/// set, and answered only for connections from the loopback address.
/// </summary>
internal static class AdminEndpoints
{
    private static readonly SemaphoreSlim OneRun = new(1, 1);

    public static void MapAdminEndpoints(this IEndpointRouteBuilder app)
    {
        var folder = app.ServiceProvider.GetRequiredService<IOptions<WebAppOptions>>().Value.AdminIndexFolder;
        if (string.IsNullOrWhiteSpace(folder))
        {
            return;
        }

        app.MapPost("/admin/index", (HttpContext context, FolderIndexer indexer, ILoggerFactory logs) =>
            {
                if (context.Connection.RemoteIpAddress is not { } remote || !IPAddress.IsLoopback(remote))
                {
                    return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Only from this machine", detail: "The admin endpoint answers only connections from the loopback address.", extensions: new Dictionary<string, object?> { ["code"] = "admin-local-only" });
                }

                if (!OneRun.Wait(0))
                {
                    return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Indexing is already running", detail: "One indexing run at a time; wait for the running one to finish.", extensions: new Dictionary<string, object?> { ["code"] = "admin-busy" });
                }

                context.Response.Headers.CacheControl = "no-store";
                return TypedResults.ServerSentEvents(RunAsync(indexer, folder, logs.CreateLogger(typeof(AdminEndpoints)), context.RequestAborted));
            })
            .WithName("AdminIndex")
            .WithSummary("Index the configured folder (localhost only, off unless SearchByImage:AdminIndexFolder is set); progress as Server-Sent Events")
            .DisableAntiforgery();
    }

    /// <summary>Runs the indexer and yields its progress; the run stops (at a checkpoint) when the client goes away.</summary>
    private static async IAsyncEnumerable<SseItem<object>> RunAsync(FolderIndexer indexer, string folder, ILogger logger, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            var events = Channel.CreateBounded<IndexingProgress>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest });
            logger.LogInformation("Admin indexing of {Folder} started", folder);
            var run = Task.Run(
                async () =>
                {
                    try
                    {
                        return await indexer.IndexAsync(folder, null, new Progress(events.Writer), cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        events.Writer.TryComplete();
                    }
                },
                cancellationToken);

            await foreach (var p in events.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return new SseItem<object>(new { p.FilesDone, p.FilesTotal, p.Indexed, p.Unchanged, p.Failed, p.Skipped, p.ImagesPerSecond }, "progress");
            }

            var result = await run.ConfigureAwait(false);
            logger.LogInformation("Admin indexing of {Folder} done: {Indexed} indexed, {Unchanged} unchanged, {Failed} failed, {Skipped} skipped, {Removed} removed", folder, result.Indexed, result.Unchanged, result.Failed, result.Skipped, result.Removed);
            yield return new SseItem<object>(new { result.Indexed, result.Unchanged, result.Failed, result.Skipped, result.Removed, Seconds = result.Elapsed.TotalSeconds }, "done");
        }
        finally
        {
            OneRun.Release();
        }
    }

    /// <summary>Forwards progress without the synchronisation-context hop of <see cref="Progress{T}"/>, keeping only the latest.</summary>
    private sealed class Progress(ChannelWriter<IndexingProgress> writer) : IProgress<IndexingProgress>
    {
        public void Report(IndexingProgress value) => writer.TryWrite(value);
    }
}
