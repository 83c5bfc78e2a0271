using System.Globalization;
using SkiaSharp;

namespace SearchByImage.Rendering;

/// <summary>Draws the query and its best matches as a grid picture with names and scores (the recipe's matplotlib grid).</summary>
internal static class ResultSheet
{
    private const int Tile = 224;
    private const int Caption = 44;
    private const int Gap = 12;

    public static void Write(string outputPath, string queryPath, IReadOnlyList<SearchHit> hits, int columns = 5)
    {
        var cells = hits.Count + 1;
        columns = Math.Clamp(columns, 1, cells);
        var rows = (cells + columns - 1) / columns;
        var width = Gap + (columns * (Tile + Gap));
        var height = Gap + (rows * (Tile + Caption + Gap));
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(new SKColor(0xF4, 0xF4, 0xF4));
        using var typeface = Fonts.Find();
        using var nameFont = new SKFont(typeface, 14);
        using var scoreFont = new SKFont(typeface, 13);
        using var text = new SKPaint { Color = new SKColor(0x20, 0x20, 0x20), IsAntialias = true };
        using var accent = new SKPaint { Color = new SKColor(0x1F, 0x6F, 0xEB), IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = 4 };

        for (var i = 0; i < cells; i++)
        {
            var x = Gap + ((i % columns) * (Tile + Gap));
            var y = Gap + ((i / columns) * (Tile + Caption + Gap));
            var path = i == 0 ? queryPath : hits[i - 1].Path ?? string.Empty;
            var title = i == 0 ? "query: " + Path.GetFileName(queryPath) : $"#{hits[i - 1].Rank} {hits[i - 1].Id}";
            var score = i == 0 ? string.Empty : "similarity " + hits[i - 1].Similarity.ToString("F4", CultureInfo.InvariantCulture);
            DrawTile(canvas, path, x, y);
            if (i == 0)
            {
                canvas.DrawRect(x - 2, y - 2, Tile + 4, Tile + 4, accent);
            }

            canvas.DrawText(Fit(title, nameFont), x, y + Tile + 18, SKTextAlign.Left, nameFont, text);
            canvas.DrawText(score, x, y + Tile + 36, SKTextAlign.Left, scoreFont, text);
        }

        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        var directory = Path.GetDirectoryName(Path.GetFullPath(outputPath));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        using var file = File.Create(outputPath);
        png.SaveTo(file);
    }

    private static void DrawTile(SKCanvas canvas, string path, int x, int y)
    {
        using var white = new SKPaint { Color = SKColors.White };
        canvas.DrawRect(x, y, Tile, Tile, white);
        using var thumb = Thumbnails.Load(path, Tile);
        if (thumb is null)
        {
            using var grey = new SKPaint { Color = new SKColor(0xBB, 0xBB, 0xBB), StrokeWidth = 2, IsAntialias = true };
            canvas.DrawLine(x, y, x + Tile, y + Tile, grey);
            canvas.DrawLine(x + Tile, y, x, y + Tile, grey);
            return;
        }

        using var image = SKImage.FromBitmap(thumb);
        float dx = x + ((Tile - thumb.Width) / 2f), dy = y + ((Tile - thumb.Height) / 2f);
        canvas.DrawImage(image, dx, dy);
    }

    private static string Fit(string value, SKFont font)
    {
        if (font.MeasureText(value) <= Tile)
        {
            return value;
        }

        while (value.Length > 1 && font.MeasureText(value + "…") > Tile)
        {
            value = value[..^1];
        }

        return value + "…";
    }
}
