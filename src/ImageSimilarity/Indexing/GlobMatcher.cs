using System.Text;
using System.Text.RegularExpressions;

namespace ImageSimilarity.Indexing;

/// <summary>
/// Matches relative paths ('/' separated) against glob patterns: <c>*</c> within a segment, <c>?</c> one character,
/// <c>**</c> any number of segments. A pattern without '/' matches the file name at any depth, as in .gitignore.
/// </summary>
internal sealed class GlobMatcher
{
    private readonly Regex[] _patterns;

    public GlobMatcher(IEnumerable<string> patterns)
    {
        _patterns = patterns.Where(p => !string.IsNullOrWhiteSpace(p)).Select(Compile).ToArray();
    }

    public bool IsEmpty => _patterns.Length == 0;

    public bool IsMatch(string relativePath) => _patterns.Any(p => p.IsMatch(relativePath));

    private static Regex Compile(string pattern)
    {
        var p = pattern.Replace('\\', '/').Trim();
        var anywhere = !p.Contains('/', StringComparison.Ordinal);
        p = p.TrimStart('/');
        var sb = new StringBuilder(anywhere ? "^(?:.*/)?" : "^");
        for (var i = 0; i < p.Length; i++)
        {
            var c = p[i];
            if (c == '*' && i + 1 < p.Length && p[i + 1] == '*')
            {
                var slashFollows = i + 2 < p.Length && p[i + 2] == '/';
                sb.Append(slashFollows ? "(?:.*/)?" : ".*");
                i += slashFollows ? 2 : 1;
            }
            else if (c == '*')
            {
                sb.Append("[^/]*");
            }
            else if (c == '?')
            {
                sb.Append("[^/]");
            }
            else
            {
                sb.Append(Regex.Escape(c.ToString()));
            }
        }

        sb.Append('$');
        var options = RegexOptions.CultureInvariant | (OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? RegexOptions.IgnoreCase : RegexOptions.None);
        return new Regex(sb.ToString(), options);
    }
}
