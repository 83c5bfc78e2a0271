namespace SearchByImage;

/// <summary>Checks an <c>--index</c> path before any work starts, so a bad path is refused before minutes of extraction, not after.</summary>
internal static class IndexFile
{
    /// <summary>Throws an <see cref="IOException"/> with one clear line when <paramref name="path"/> is a directory.</summary>
    public static void EnsureNotDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            throw new IOException($"--index '{path}' is a directory; pass a file path such as '{Path.Combine(path, "index.isvs")}'");
        }
    }

    /// <summary>Throws an <see cref="IOException"/> with one clear line when the index cannot be written at <paramref name="path"/>.</summary>
    public static void EnsureWritable(string path)
    {
        EnsureNotDirectory(path);
        var full = Path.GetFullPath(path);

        var directory = Path.GetDirectoryName(full) ?? full;
        try
        {
            Directory.CreateDirectory(directory);

            // The index is saved as a new file beside the old one, then renamed over it: the folder must take new files.
            var probe = Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.probe");
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }

            if (File.Exists(full))
            {
                using var existing = new FileStream(full, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new IOException($"--index '{path}' cannot be written ({ex.Message.TrimEnd('.')}); pass a path in a folder you can write to", ex);
        }
    }
}
