using System.Globalization;
using System.Security.Cryptography;

namespace ImageSimilarity.Extraction;

/// <summary>
/// Finds the VGG16 weights file: an explicit path, else <see cref="EnvironmentVariable"/>, else the per-user cache,
/// else Keras' <see cref="KerasFileName"/> in <see cref="KerasCacheDirectory"/>, else a verified download of
/// torchvision's official file.
/// </summary>
/// <remarks>All members are thread-safe. Concurrent downloads of the same file each write their own temporary file.</remarks>
public static class Vgg16Weights
{
    /// <summary>The official torchvision file name; its 8 hex characters are the start of its SHA-256.</summary>
    public const string OfficialFileName = "vgg16-397923af.pth";

    /// <summary>The SHA-256 of the official file.</summary>
    public const string OfficialSha256 = "397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0";

    /// <summary>The size of the official file in bytes.</summary>
    public const long OfficialLength = 553_433_881;

    /// <summary>The environment variable that may name the weights file.</summary>
    public const string EnvironmentVariable = "IMAGESIMILARITY_VGG16_WEIGHTS";

    /// <summary>The file name of Keras' VGG16 ImageNet weights with the fully connected layers (<c>include_top=True</c>).</summary>
    public const string KerasFileName = "vgg16_weights_tf_dim_ordering_tf_kernels.h5";

    /// <summary>The file name of Keras' VGG16 weights without the fully connected layers (<c>include_top=False</c>); it cannot give fc2 features.</summary>
    public const string KerasNoTopFileName = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5";

    /// <summary>The size of <see cref="KerasFileName"/> in bytes.</summary>
    public const long KerasLength = 553_467_096;

    /// <summary>The MD5 of <see cref="KerasFileName"/>: the <c>file_hash</c> Keras itself checks it against (<c>keras.applications.vgg16</c>).</summary>
    public const string KerasMd5 = "64373286793e3c8b2b4e3219cbf3544b";

    /// <summary>
    /// Gets the folder where Keras keeps downloaded weights: <c>$KERAS_HOME/models</c>, else <c>~/.keras/models</c>.
    /// <see cref="ResolveAsync"/> looks there for <see cref="KerasFileName"/>; nothing is ever downloaded from Keras.
    /// </summary>
    public static string KerasCacheDirectory
        => Environment.GetEnvironmentVariable("KERAS_HOME") is { Length: > 0 } kerasHome
            ? Path.Combine(kerasHome, "models")
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".keras", "models");

    /// <summary>Gets the official download URL.</summary>
    public static Uri OfficialUri { get; } = new("https://download.pytorch.org/models/vgg16-397923af.pth");

    /// <summary>
    /// Gets the per-user cache directory: <c>$IMAGESIMILARITY_CACHE</c>, else <c>$XDG_CACHE_HOME/imagesimilarity</c>,
    /// else <c>~/.cache/imagesimilarity</c> (on Windows <c>%LOCALAPPDATA%\ImageSimilarity\cache</c>).
    /// </summary>
    public static string DefaultCacheDirectory
    {
        get
        {
            if (Environment.GetEnvironmentVariable("IMAGESIMILARITY_CACHE") is { Length: > 0 } own)
            {
                return own;
            }

            if (OperatingSystem.IsWindows())
            {
                return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "ImageSimilarity", "cache");
            }

            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var baseDir = string.IsNullOrEmpty(xdg)
                ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache")
                : xdg;
            return Path.Combine(baseDir, "imagesimilarity");
        }
    }

    /// <summary>Finds the weights file, downloading the official one into the cache when nothing else is found.</summary>
    /// <param name="explicitPath">A path given by the user; when set, it must exist and nothing else is tried.</param>
    /// <param name="download">Where to download from and cache to; <see langword="null"/> for the official defaults.</param>
    /// <param name="progress">Receives download progress.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>The full path of an existing weights file.</returns>
    /// <exception cref="WeightsFileException">No file is found and it cannot be downloaded; the message says which file to fetch and where to put it.</exception>
    /// <exception cref="OperationCanceledException">The operation was cancelled.</exception>
    public static async Task<string> ResolveAsync(
        string? explicitPath = null,
        WeightsDownloadOptions? download = null,
        IProgress<WeightsDownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            return File.Exists(explicitPath)
                ? Path.GetFullPath(explicitPath)
                : throw new WeightsFileException(explicitPath, ["the file does not exist"]);
        }

        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } fromEnv)
        {
            return File.Exists(fromEnv)
                ? Path.GetFullPath(fromEnv)
                : throw new WeightsFileException(fromEnv, [$"the file named by ${EnvironmentVariable} does not exist"]);
        }

        return FindInKerasCache(download, KerasCacheDirectory)
            ?? await EnsureDownloadedAsync(download, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Keras' file in Keras' own cache, for people who come from the Keras recipe (it is never downloaded from here),
    /// unless torchvision's file is already in this library's cache.
    /// </summary>
    internal static string? FindInKerasCache(WeightsDownloadOptions? download, string kerasDirectory)
    {
        var torchvisionCached = Path.GetFullPath((download ?? new WeightsDownloadOptions()).CachedFilePath);
        var keras = Path.Combine(kerasDirectory, KerasFileName);
        return !File.Exists(torchvisionCached) && File.Exists(keras) ? Path.GetFullPath(keras) : null;
    }

    /// <summary>
    /// Returns the cached file, or downloads it: streamed to a temporary file beside it while hashing, checked
    /// against the expected SHA-256 and size, and renamed into place only when it is verified.
    /// </summary>
    /// <param name="options">Where to download from and cache to; <see langword="null"/> for the official defaults.</param>
    /// <param name="progress">Receives download progress.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>The full path of the cached file.</returns>
    /// <exception cref="WeightsFileException">The download failed, was interrupted or has the wrong hash; nothing is left in the cache.</exception>
    /// <exception cref="OperationCanceledException">The operation was cancelled.</exception>
    public static async Task<string> EnsureDownloadedAsync(
        WeightsDownloadOptions? options = null,
        IProgress<WeightsDownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new WeightsDownloadOptions();
        var target = Path.GetFullPath(options.CachedFilePath);
        if (File.Exists(target))
        {
            return target;
        }

        if (!options.AllowDownload)
        {
            throw Offline(options, target, "downloading is turned off");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temp = $"{target}.{Guid.NewGuid():N}.part";
        var ownClient = options.HttpClient is null ? new HttpClient { Timeout = Timeout.InfiniteTimeSpan } : null;
        try
        {
            var client = options.HttpClient ?? ownClient!;
            using var response = await client.GetAsync(options.SourceUri, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw Offline(options, target, $"the server answered {(int)response.StatusCode} {response.ReasonPhrase}");
            }

            var total = response.Content.Headers.ContentLength;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long received = 0;
            await using (var source = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false))
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                var buffer = new byte[1 << 20];
                long lastReport = -1;
                while (true)
                {
                    var n = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                    if (n == 0)
                    {
                        break;
                    }

                    hash.AppendData(buffer, 0, n);
                    await file.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                    received += n;
                    if (progress is not null && received - lastReport >= 1 << 20)
                    {
                        progress.Report(new WeightsDownloadProgress(received, total));
                        lastReport = received;
                    }
                }
            }

            progress?.Report(new WeightsDownloadProgress(received, total));
            if (total is { } expectedLength && received != expectedLength)
            {
                throw Offline(options, target, $"the transfer was interrupted after {received:N0} of {expectedLength:N0} bytes");
            }

            var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (!string.Equals(actual, options.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                throw Offline(options, target, $"the downloaded file has SHA-256 {actual}, expected {options.Sha256.ToLowerInvariant()} ({received:N0} bytes received); it was discarded");
            }

            File.Move(temp, target, overwrite: true);
            return target;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
        {
            throw Offline(options, target, $"the download failed ({ex.Message})", ex);
        }
        finally
        {
            ownClient?.Dispose();
            TryDelete(temp);
        }
    }

    private static WeightsFileException Offline(WeightsDownloadOptions options, string target, string reason, Exception? inner = null)
        => new(
            target,
            [string.Create(
                CultureInfo.InvariantCulture,
                $"it is not there and cannot be downloaded: {reason}. Fetch {options.SourceUri} (SHA-256 {options.Sha256.ToLowerInvariant()}) and put it at {target}, or pass its path explicitly, or set ${EnvironmentVariable} to it (Keras' {KerasFileName} in {KerasCacheDirectory} is used too, with the keras-caffe preset)")],
            inner);

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
