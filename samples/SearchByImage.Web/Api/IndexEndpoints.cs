using SearchByImage.Web.Services;

namespace SearchByImage.Web.Api;

/// <summary>The status of the index: <c>GET /api/index</c>.</summary>
internal static class IndexEndpoints
{
    public static void MapIndexEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/index", async (IndexStatusService status, HttpContext context) =>
            {
                context.Response.Headers.CacheControl = "no-store";
                return TypedResults.Ok(await status.GetAsync(context.RequestAborted).ConfigureAwait(false));
            })
            .WithName("GetIndexStatus")
            .WithSummary("What the index holds: count, model, precision, last update, and the upload queue");
    }
}
