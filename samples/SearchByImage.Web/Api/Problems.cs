using ImageSimilarity.Imaging;

namespace SearchByImage.Web.Api;

/// <summary>The app's error answers, all RFC 9457 Problem Details with a stable <c>code</c> extension.</summary>
internal static class Problems
{
    public static IResult BadRequest(string detail, string code = "invalid-request")
        => Create(StatusCodes.Status400BadRequest, "The request is not valid", detail, code);

    public static IResult NotFound(string id)
        => Create(StatusCodes.Status404NotFound, "No such image in the index", $"The index has no image with the id '{id}'. Ids come from search results or GET /api/search.", "not-found");

    public static IResult UploadTooLarge(long limit)
        => Create(StatusCodes.Status413PayloadTooLarge, "The upload is too large", $"Uploads may be at most {limit:N0} bytes ({limit / (1024.0 * 1024.0):F0} MB). Send a smaller image.", "upload-too-large");

    public static IResult NotMultipart()
        => Create(StatusCodes.Status415UnsupportedMediaType, "Send the image as multipart/form-data", "POST the image as multipart/form-data with the file in a field named 'image'.", "not-multipart");

    public static IResult Busy(TimeSpan retryAfter, string detail)
        => Create(StatusCodes.Status503ServiceUnavailable, "The server is busy", detail, "queue-full", retryAfter);

    /// <summary>Maps a decode failure to 413 (too many pixels), 415 (not an image) or 422 (truncated or corrupt).</summary>
    public static IResult FromDecodeError(ImageDecodeException ex, string fileName) => ex.Error switch
    {
        ImageDecodeError.TooLarge => Create(StatusCodes.Status413PayloadTooLarge, "The image has too many pixels", $"'{fileName}': {ex.Message}", "image-too-large"),
        ImageDecodeError.UnknownFormat or ImageDecodeError.EmptyFile => Create(StatusCodes.Status415UnsupportedMediaType, "The file is not an image", $"'{fileName}' is not a JPEG, PNG, WebP, GIF or BMP image (the content decides, not the name): {ex.Message}", "not-an-image"),
        _ => Create(StatusCodes.Status422UnprocessableEntity, "The image cannot be decoded", $"'{fileName}' looks like an image but is truncated or corrupt: {ex.Message}", "undecodable-image"),
    };

    private static IResult Create(int status, string title, string detail, string code, TimeSpan? retryAfter = null)
    {
        var result = TypedResults.Problem(detail: detail, statusCode: status, title: title, extensions: new Dictionary<string, object?> { ["code"] = code });
        return retryAfter is { } wait ? new WithRetryAfter(result, wait) : result;
    }

    /// <summary>Adds a Retry-After header (whole seconds) to a result.</summary>
    private sealed class WithRetryAfter(IResult inner, TimeSpan wait) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
    }
}
