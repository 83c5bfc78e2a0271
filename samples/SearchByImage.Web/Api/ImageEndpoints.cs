using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using SearchByImage.Web.Services;

namespace SearchByImage.Web.Api;

/// <summary>Thumbnails and originals of the images of the index, looked up by id (never by a path from the request).</summary>
internal static class ImageEndpoints
{
    public static void MapImageEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/images/{id}/thumbnail", async (string id, ImageFiles files, IOptions<WebAppOptions> options, HttpContext context) =>
            {
                var image = await files.FindAsync(ImageUrls.IdFromRoute(id), context.RequestAborted).ConfigureAwait(false);
                if (image is null)
                {
                    return Problems.NotFound(ImageUrls.IdFromRoute(id));
                }

                SetCaching(context, options.Value);
                if (IsNotModified(context, image))
                {
                    return TypedResults.StatusCode(StatusCodes.Status304NotModified);
                }

                var bytes = await files.GetThumbnailAsync(image, context.RequestAborted).ConfigureAwait(false);
                if (bytes is null)
                {
                    context.Response.Headers.CacheControl = "no-store";
                    return Problems.BadRequest($"The file of '{image.Id}' no longer decodes as an image; re-index the folder.", "undecodable-image");
                }

                return TypedResults.File(bytes, "image/jpeg", lastModified: image.LastModified, entityTag: EntityTagHeaderValue.Parse(image.ETag));
            })
            .WithName("GetThumbnail")
            .WithSummary("A JPEG thumbnail of an image of the index")
            .Produces(StatusCodes.Status200OK, contentType: "image/jpeg")
            .ProducesProblem(StatusCodes.Status404NotFound);

        app.MapGet("/api/images/{id}/original", async (string id, ImageFiles files, IOptions<WebAppOptions> options, HttpContext context) =>
            {
                var image = await files.FindAsync(ImageUrls.IdFromRoute(id), context.RequestAborted).ConfigureAwait(false);
                var contentType = image is null ? null : await ImageFiles.SniffContentTypeAsync(image.Path, context.RequestAborted).ConfigureAwait(false);
                if (image is null || contentType is null)
                {
                    return Problems.NotFound(ImageUrls.IdFromRoute(id));
                }

                SetCaching(context, options.Value);
                return TypedResults.PhysicalFile(image.Path, contentType, lastModified: image.LastModified, entityTag: EntityTagHeaderValue.Parse(image.ETag), enableRangeProcessing: true);
            })
            .WithName("GetOriginal")
            .WithSummary("An image of the index as it was indexed (content type from its content)")
            .Produces(StatusCodes.Status200OK, contentType: "image/jpeg")
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static void SetCaching(HttpContext context, WebAppOptions options)
        => context.Response.Headers.CacheControl = $"public, max-age={(long)options.ImageCacheDuration.TotalSeconds}";

    private static bool IsNotModified(HttpContext context, StoredImage image)
    {
        var tags = context.Request.GetTypedHeaders().IfNoneMatch;
        if (tags is not { Count: > 0 })
        {
            return false;
        }

        var current = EntityTagHeaderValue.Parse(image.ETag);
        foreach (var tag in tags)
        {
            if (tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(current, useStrongComparison: false))
            {
                context.Response.Headers.ETag = image.ETag;
                return true;
            }
        }

        return false;
    }
}
