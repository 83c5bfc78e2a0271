namespace SearchByImage.Web.Services;

/// <summary>The URLs the API hands out for stored images; ids are escaped as one path segment.</summary>
internal static class ImageUrls
{
    public static string Thumbnail(string id) => $"/api/images/{Uri.EscapeDataString(id)}/thumbnail";

    public static string Original(string id) => $"/api/images/{Uri.EscapeDataString(id)}/original";

    public static string Search(string id) => $"/api/search?id={Uri.EscapeDataString(id)}";

    /// <summary>
    /// Turns a route value back into an id: the server leaves an escaped slash (%2F) escaped in the path, so ids of
    /// images in subfolders arrive with it.
    /// </summary>
    public static string IdFromRoute(string value) => value.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
}
