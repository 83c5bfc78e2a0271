using Microsoft.AspNetCore.Antiforgery;

namespace SearchByImage.Web.Api;

/// <summary>The page: wwwroot/index.html with this visitor's antiforgery token filled in.</summary>
internal static class PageEndpoints
{
    private const string TokenPlaceholder = "%ANTIFORGERY_TOKEN%";

    public static void MapPage(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", async (IAntiforgery antiforgery, IWebHostEnvironment environment, HttpContext context) =>
            {
                var file = environment.WebRootFileProvider.GetFileInfo("index.html");
                if (!file.Exists)
                {
                    return Results.Problem(statusCode: StatusCodes.Status500InternalServerError, title: "The page is missing", detail: "wwwroot/index.html is not next to the app; publish the app with its wwwroot folder.");
                }

                string html;
                await using (var stream = file.CreateReadStream())
                using (var reader = new StreamReader(stream))
                {
                    html = await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false);
                }

                var tokens = antiforgery.GetAndStoreTokens(context);
                context.Response.Headers.CacheControl = "no-store";
                return Results.Content(html.Replace(TokenPlaceholder, System.Net.WebUtility.HtmlEncode(tokens.RequestToken), StringComparison.Ordinal), "text/html; charset=utf-8");
            })
            .ExcludeFromDescription();
    }
}
