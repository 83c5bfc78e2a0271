using System.Globalization;
using ImageSimilarity.Imaging;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using SearchByImage.Web.Services;

namespace SearchByImage.Web.Api;

/// <summary>The search API: by upload (<c>POST /api/search</c>, and <c>POST /search</c> for the page's form with antiforgery) and by stored id (<c>GET /api/search?id=</c>).</summary>
internal static class SearchEndpoints
{
    /// <summary>The form field that carries the image.</summary>
    public const string ImageField = "image";

    public static void MapSearchEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/search", (HttpContext context, SearchService search, IOptions<WebAppOptions> options, ILoggerFactory logs)
                => SearchByUploadAsync(context, search, options.Value, antiforgery: null, logs))
            .WithName("SearchByUpload")
            .WithSummary("Search by an uploaded image")
            .WithDescription("multipart/form-data with the image in the field 'image' (JPEG, PNG, WebP, GIF or BMP by content); optional 'top' (default 9) and 'minScore' (-1..1) as form fields or query parameters. No antiforgery token: this endpoint is for programs and uses no cookies.")
            .Accepts<IFormFile>("multipart/form-data")
            .Produces<SearchResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .DisableAntiforgery();

        app.MapPost("/search", (HttpContext context, SearchService search, IOptions<WebAppOptions> options, IAntiforgery antiforgery, ILoggerFactory logs)
                => SearchByUploadAsync(context, search, options.Value, antiforgery, logs))
            .WithName("SearchByUploadFromPage")
            .WithSummary("The page's form post: as POST /api/search, with an antiforgery token (field __RequestVerificationToken or header X-CSRF-TOKEN)")
            .ExcludeFromDescription()
            .DisableAntiforgery();

        app.MapGet("/api/search", SearchByIdAsync)
            .WithName("SearchById")
            .WithSummary("Search with an image of the index, by its id (no re-extraction)")
            .Produces<SearchResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> SearchByIdAsync(
        [FromQuery] string? id,
        [FromQuery] int? top,
        [FromQuery] float? minScore,
        SearchService search,
        HttpContext context)
    {
        if (string.IsNullOrEmpty(id))
        {
            return Problems.BadRequest("Give the id of an image of the index: GET /api/search?id=<id>. To search with a new image, POST it to /api/search.", "missing-id");
        }

        if (search.ResolveTop(top, out var n) is { } topError)
        {
            return Problems.BadRequest(topError, "invalid-top");
        }

        if (SearchService.CheckMinScore(minScore) is { } scoreError)
        {
            return Problems.BadRequest(scoreError, "invalid-min-score");
        }

        var response = await search.SearchByIdAsync(id, n, minScore, context.RequestAborted).ConfigureAwait(false);
        return response is null ? Problems.NotFound(id) : TypedResults.Ok(response);
    }

    private static async Task<IResult> SearchByUploadAsync(HttpContext context, SearchService search, WebAppOptions options, IAntiforgery? antiforgery, ILoggerFactory logs)
    {
        var request = context.Request;
        var cancellationToken = context.RequestAborted;
        if (request.ContentLength > options.MaxUploadBytes)
        {
            return Problems.UploadTooLarge(options.MaxUploadBytes);
        }

        if (!request.HasFormContentType)
        {
            return Problems.NotMultipart();
        }

        // The body limit also holds for chunked uploads that announce no length (Kestrel stops reading at the limit).
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = options.MaxUploadBytes;
        }

        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(cancellationToken).ConfigureAwait(false);
            if (antiforgery is not null)
            {
                await antiforgery.ValidateRequestAsync(context).ConfigureAwait(false);
            }
        }
        catch (InvalidDataException ex) when (ex.Message.Contains("length limit", StringComparison.OrdinalIgnoreCase))
        {
            return Problems.UploadTooLarge(options.MaxUploadBytes);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Problems.UploadTooLarge(options.MaxUploadBytes);
        }
        catch (InvalidDataException ex)
        {
            return Problems.BadRequest($"The multipart body cannot be read: {ex.Message}", "invalid-multipart");
        }
        catch (AntiforgeryValidationException)
        {
            return Problems.BadRequest("The form's antiforgery token is missing or does not match its cookie. Reload the page and try again.", "antiforgery");
        }

        var file = form.Files.GetFile(ImageField);
        if (file is null)
        {
            return Problems.BadRequest($"The form has no file in the field '{ImageField}'.", "missing-image");
        }

        if (file.Length > options.MaxUploadBytes)
        {
            return Problems.UploadTooLarge(options.MaxUploadBytes);
        }

        var fileName = string.IsNullOrWhiteSpace(file.FileName) ? "upload" : Path.GetFileName(file.FileName);
        if (!TryRead(form, request.Query, "top", out var topText) || !TryParseInt(topText, out var top))
        {
            return Problems.BadRequest("top must be a whole number.", "invalid-top");
        }

        if (!TryRead(form, request.Query, "minScore", out var scoreText) || !TryParseFloat(scoreText, out var minScore))
        {
            return Problems.BadRequest("minScore must be a number between -1 and 1.", "invalid-min-score");
        }

        if (search.ResolveTop(top, out var n) is { } topError)
        {
            return Problems.BadRequest(topError, "invalid-top");
        }

        if (SearchService.CheckMinScore(minScore) is { } scoreError)
        {
            return Problems.BadRequest(scoreError, "invalid-min-score");
        }

        var bytes = new byte[file.Length];
        await using (var stream = file.OpenReadStream())
        {
            await stream.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return TypedResults.Ok(await search.SearchByUploadAsync(bytes, fileName, n, minScore, cancellationToken).ConfigureAwait(false));
        }
        catch (ImageDecodeException ex)
        {
            logs.CreateLogger(typeof(SearchEndpoints)).LogInformation("Upload {FileName} ({Bytes} bytes) refused: {DecodeError}", fileName, bytes.Length, ex.Error);
            return Problems.FromDecodeError(ex, fileName);
        }
        catch (ExtractionQueueFullException ex)
        {
            logs.CreateLogger(typeof(SearchEndpoints)).LogWarning("Upload {FileName} refused: the extraction queue is full; retry after {RetryAfterSeconds} s", fileName, ex.RetryAfter.TotalSeconds);
            return Problems.Busy(ex.RetryAfter, ex.Message);
        }
    }

    /// <summary>Reads a value from the form, else the query string; false when both have it with different values.</summary>
    private static bool TryRead(IFormCollection form, IQueryCollection query, string key, out string? value)
    {
        var fromForm = form.TryGetValue(key, out var f) ? f.ToString() : null;
        var fromQuery = query.TryGetValue(key, out var q) ? q.ToString() : null;
        value = string.IsNullOrEmpty(fromForm) ? fromQuery : fromForm;
        return fromForm is null || fromQuery is null || fromForm == fromQuery;
    }

    private static bool TryParseInt(string? text, out int? value)
    {
        value = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
        {
            value = v;
            return true;
        }

        return false;
    }

    private static bool TryParseFloat(string? text, out float? value)
    {
        value = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        if (float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && float.IsFinite(v))
        {
            value = v;
            return true;
        }

        return false;
    }
}
