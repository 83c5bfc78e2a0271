using SkiaSharp;

namespace SearchByImage.Rendering;

/// <summary>Finds a typeface for captions; SkiaSharp's Linux "NoDependencies" build has no font manager, so fall back to font files.</summary>
internal static class Fonts
{
    private static readonly string[] Candidates =
    [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/System/Library/Fonts/Helvetica.ttc",
        @"C:\Windows\Fonts\segoeui.ttf",
    ];

    public static SKTypeface Find()
    {
        var fromManager = SKTypeface.FromFamilyName("DejaVu Sans") ?? SKTypeface.Default;
        if (fromManager is not null && fromManager.GlyphCount > 0)
        {
            return fromManager;
        }

        foreach (var file in Candidates.Where(File.Exists).Concat(AnyFontFile()))
        {
            var typeface = SKTypeface.FromFile(file);
            if (typeface is not null && typeface.GlyphCount > 0)
            {
                return typeface;
            }
        }

        return fromManager ?? SKTypeface.CreateDefault();
    }

    private static IEnumerable<string> AnyFontFile()
    {
        foreach (var root in new[] { "/usr/share/fonts", "/usr/local/share/fonts" })
        {
            if (Directory.Exists(root))
            {
                foreach (var file in Directory.EnumerateFiles(root, "*.ttf", SearchOption.AllDirectories))
                {
                    yield return file;
                }
            }
        }
    }
}
