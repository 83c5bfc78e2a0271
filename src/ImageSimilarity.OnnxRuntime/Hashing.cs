using System.Security.Cryptography;
using System.Text;

namespace ImageSimilarity.OnnxRuntime;

internal static class Hashing
{
    /// <summary>The first 8 hex digits of the SHA-256 of a text.</summary>
    public static string ShortHash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..8];

    /// <summary>The first 8 hex digits of the SHA-256 of some floats (little-endian bytes).</summary>
    public static string ShortHash(ReadOnlySpan<float> values)
        => Convert.ToHexStringLower(SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values)))[..8];

    /// <summary>The first 8 hex digits of the SHA-256 of a file's content.</summary>
    public static string ShortFileHash(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream))[..8];
    }
}
