using System.Globalization;
using System.Net;
using System.Text;
using SkiaSharp;

namespace SearchByImage.Rendering;

/// <summary>Writes a self-contained HTML page (thumbnails inlined as data URIs) with the query and its ranked matches.</summary>
internal static class HtmlReport
{
    public static void Write(string outputPath, string queryPath, IReadOnlyList<SearchHit> hits, string indexDescription)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Search by image: ")
            .Append(Encode(Path.GetFileName(queryPath)))
            .Append("</title>\n<style>body{font-family:system-ui,sans-serif;margin:24px;background:#f6f6f6;color:#222}"
                + ".grid{display:flex;flex-wrap:wrap;gap:16px}.card{background:#fff;border-radius:8px;padding:8px;width:240px;box-shadow:0 1px 3px #0002}"
                + ".card img{width:224px;height:224px;object-fit:contain;background:#fff;display:block;margin:auto}"
                + ".query{outline:4px solid #1f6feb}.name{font-weight:600;overflow-wrap:anywhere}.score{color:#555}</style></head><body>\n")
            .Append("<h1>Search by image</h1>\n<p>")
            .Append(Encode(indexDescription))
            .Append("</p>\n<div class=\"grid\">\n");
        AppendCard(html, queryPath, "query: " + Path.GetFileName(queryPath), string.Empty, query: true);
        foreach (var hit in hits)
        {
            AppendCard(html, hit.Path, $"#{hit.Rank} {hit.Id}", "similarity " + hit.Similarity.ToString("F4", CultureInfo.InvariantCulture), query: false);
        }

        html.Append("</div>\n</body></html>\n");
        var directory = Path.GetDirectoryName(Path.GetFullPath(outputPath));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        File.WriteAllText(outputPath, html.ToString(), new UTF8Encoding(false));
    }

    private static void AppendCard(StringBuilder html, string? path, string title, string score, bool query)
    {
        html.Append("<div class=\"card").Append(query ? " query" : string.Empty).Append("\">");
        var dataUri = path is null ? null : ThumbnailDataUri(path);
        if (dataUri is not null)
        {
            html.Append("<img alt=\"").Append(Encode(title)).Append("\" src=\"").Append(dataUri).Append("\">");
        }

        html.Append("<div class=\"name\" title=\"").Append(Encode(path ?? string.Empty)).Append("\">").Append(Encode(title)).Append("</div>");
        html.Append("<div class=\"score\">").Append(Encode(score)).Append("</div></div>\n");
    }

    private static string? ThumbnailDataUri(string path)
    {
        using var thumb = Thumbnails.Load(path, 224);
        if (thumb is null)
        {
            return null;
        }

        using var image = SKImage.FromBitmap(thumb);
        using var jpeg = image.Encode(SKEncodedImageFormat.Jpeg, 85);
        return "data:image/jpeg;base64," + Convert.ToBase64String(jpeg.AsSpan());
    }

    private static string Encode(string value) => WebUtility.HtmlEncode(value);
}
