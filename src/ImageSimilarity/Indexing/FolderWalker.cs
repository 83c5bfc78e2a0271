namespace ImageSimilarity.Indexing;

/// <summary>
/// Finds the files to index under a folder without ever looping: directory links are not followed unless asked, and
/// then each real directory is visited once; file links to places outside the indexed folders are skipped; names that
/// .NET cannot open (bytes that are not valid UTF-8) are reported instead of failing later with a mangled name.
/// </summary>
internal sealed class FolderWalker
{
    private const int MaxLinkHops = 40;

    private readonly string _root;
    private readonly FolderIndexOptions _options;
    private readonly GlobMatcher _include;
    private readonly GlobMatcher _exclude;
    private readonly EnumerationOptions _enumeration = new()
    {
        RecurseSubdirectories = false,
        IgnoreInaccessible = true,
        AttributesToSkip = FileAttributes.Hidden | FileAttributes.System | FileAttributes.Device,
        ReturnSpecialDirectories = false,
    };

    public FolderWalker(string root, FolderIndexOptions options)
    {
        _root = root;
        _options = options;
        _include = new GlobMatcher(options.Include);
        _exclude = new GlobMatcher(options.Exclude);
    }

    /// <summary>A file to read: its record id, the path it was found at, and the path of the real file after resolving links.</summary>
    public sealed record Found(string Id, string Path, string RealPath);

    /// <summary>Walks the folder: files to read (sorted by id), and entries that were left out with a reason.</summary>
    public (List<Found> Files, List<FileIndexResult> LeftOut) Walk(CancellationToken cancellationToken)
    {
        var files = new List<Found>();
        var leftOut = new List<FileIndexResult>();
        var rootReal = RealPath(_root);
        var allowed = new List<string> { rootReal };
        var visited = new HashSet<string>(OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal) { rootReal };
        var pending = new Stack<(string Path, string Real, string Prefix)>();
        pending.Push((_root, rootReal, string.Empty));
        while (pending.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (dir, dirReal, prefix) = pending.Pop();
            IEnumerable<FileSystemInfo> entries;
            try
            {
                entries = new DirectoryInfo(dir).EnumerateFileSystemInfos("*", _enumeration).ToList();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                leftOut.Add(new FileIndexResult(prefix.TrimEnd('/'), dir, FileIndexOutcome.Failed, "the folder could not be listed: " + ex.Message));
                continue;
            }

            foreach (var entry in entries)
            {
                var id = prefix + entry.Name;
                if (entry.Name.StartsWith('.'))
                {
                    continue;
                }

                var isLink = entry.Attributes.HasFlag(FileAttributes.ReparsePoint);
                if (entry is DirectoryInfo)
                {
                    if (!_options.Recursive)
                    {
                        continue;
                    }

                    if (!isLink)
                    {
                        var real = Path.Combine(dirReal, entry.Name);
                        if (visited.Add(real))
                        {
                            pending.Push((entry.FullName, real, id + "/"));
                        }

                        continue;
                    }

                    if (!_options.FollowDirectoryLinks)
                    {
                        leftOut.Add(new FileIndexResult(id, entry.FullName, FileIndexOutcome.Skipped, "a link to a directory, not followed (FolderIndexOptions.FollowDirectoryLinks is off)"));
                        continue;
                    }

                    string target;
                    try
                    {
                        target = RealPath(entry.FullName);
                    }
                    catch (IOException ex)
                    {
                        leftOut.Add(new FileIndexResult(id, entry.FullName, FileIndexOutcome.Failed, "the directory link cannot be resolved: " + ex.Message));
                        continue;
                    }

                    if (visited.Add(target))
                    {
                        allowed.Add(target);
                        pending.Push((entry.FullName, target, id + "/"));
                    }
                    else
                    {
                        leftOut.Add(new FileIndexResult(id, entry.FullName, FileIndexOutcome.Skipped, "a link to a directory that is already indexed (a cycle or a second link to it), not followed again"));
                    }

                    continue;
                }

                if ((!_include.IsEmpty && !_include.IsMatch(id)) || _exclude.IsMatch(id))
                {
                    continue;
                }

                if (entry.Name.Contains('\uFFFD', StringComparison.Ordinal) && !File.Exists(entry.FullName))
                {
                    // On Unix .NET decodes file names as UTF-8 and replaces invalid bytes with U+FFFD, so the name it
                    // returns no longer names the file and every open fails with "Could not find file".
                    leftOut.Add(new FileIndexResult(id, entry.FullName, FileIndexOutcome.Failed, "the file name is not valid UTF-8, so it cannot be opened by name; rename the file (e.g. with convmv) to index it"));
                    continue;
                }

                if (!isLink)
                {
                    files.Add(new Found(id, entry.FullName, Path.Combine(dirReal, entry.Name)));
                    continue;
                }

                string linkTarget;
                try
                {
                    linkTarget = RealPath(entry.FullName);
                }
                catch (IOException ex)
                {
                    leftOut.Add(new FileIndexResult(id, entry.FullName, FileIndexOutcome.Failed, "the link cannot be resolved: " + ex.Message));
                    continue;
                }

                if (!allowed.Any(a => IsUnder(linkTarget, a)))
                {
                    // The reason never shows the target's bytes (or even its path): the index must not become a way to read files elsewhere.
                    leftOut.Add(new FileIndexResult(id, entry.FullName, FileIndexOutcome.Skipped, "a link to a file outside the indexed folder, not read"));
                    continue;
                }

                files.Add(new Found(id, entry.FullName, linkTarget));
            }
        }

        files.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
        return (files, leftOut);
    }

    private static bool IsUnder(string path, string folder)
    {
        var comparison = OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        if (string.Equals(path, folder, comparison))
        {
            return true;
        }

        var withSeparator = Path.EndsInDirectorySeparator(folder) ? folder : folder + Path.DirectorySeparatorChar;
        return path.StartsWith(withSeparator, comparison);
    }

    /// <summary>The path with every link in it resolved (like POSIX <c>realpath</c>; the last part need not exist).</summary>
    /// <exception cref="IOException">The links form a loop or are nested too deeply.</exception>
    internal static string RealPath(string path)
    {
        var full = Path.GetFullPath(path);
        for (var hop = 0; hop <= MaxLinkHops; hop++)
        {
            var root = Path.GetPathRoot(full) ?? string.Empty;
            var parts = full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
            var current = root;
            var resolved = false;
            for (var i = 0; i < parts.Length; i++)
            {
                var next = Path.Combine(current, parts[i]);
                string? link;
                try
                {
                    link = new FileInfo(next).LinkTarget;
                }
                catch (UnauthorizedAccessException)
                {
                    link = null;
                }

                if (link is not null)
                {
                    var target = Path.GetFullPath(link, current);
                    full = Path.Join([target, .. parts[(i + 1)..]]);
                    full = Path.GetFullPath(full);
                    resolved = true;
                    break;
                }

                current = next;
            }

            if (!resolved)
            {
                return Path.TrimEndingDirectorySeparator(current);
            }
        }

        throw new IOException($"more than {MaxLinkHops} links (a link loop?)");
    }
}
