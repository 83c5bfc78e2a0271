using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using ImageSimilarity.TestSupport;

namespace ImageSimilarity.Extraction;

public sealed class Vgg16WeightsTests
{
    private static readonly byte[] Payload = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);
    private static readonly string PayloadSha256 = Convert.ToHexStringLower(SHA256.HashData(Payload));

    [Fact]
    public async Task EnsureDownloaded_GoodHash_WritesVerifiedFileAndReportsProgress()
    {
        using var dir = TestPaths.CreateTempDirectory();
        await using var server = LocalHttpServer.Start(ServeMode.Full);
        var reports = new List<WeightsDownloadProgress>();
        var options = Options(server, dir, PayloadSha256);

        var path = await Vgg16Weights.EnsureDownloadedAsync(options, new SyncProgress(reports.Add));

        Assert.Equal(options.CachedFilePath, path);
        Assert.Equal(Payload, await File.ReadAllBytesAsync(path));
        Assert.Single(Directory.GetFiles(dir.Path));
        Assert.NotEmpty(reports);
        Assert.Equal(Payload.Length, reports[^1].BytesReceived);
        Assert.Equal(Payload.Length, reports[^1].TotalBytes);
        Assert.Equal(1.0, reports[^1].Fraction);

        // A second call uses the cache without asking the server.
        var requests = server.Requests;
        Assert.Equal(path, await Vgg16Weights.EnsureDownloadedAsync(options));
        Assert.Equal(requests, server.Requests);
    }

    [Fact]
    public async Task EnsureDownloaded_BadHash_LeavesNothingAndNamesBothHashes()
    {
        using var dir = TestPaths.CreateTempDirectory();
        await using var server = LocalHttpServer.Start(ServeMode.Full);
        var wrong = new string('0', 64);
        var ex = await Assert.ThrowsAsync<WeightsFileException>(() => Vgg16Weights.EnsureDownloadedAsync(Options(server, dir, wrong)));
        Assert.Contains(PayloadSha256, ex.Message, StringComparison.Ordinal);
        Assert.Contains(wrong, ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public async Task EnsureDownloaded_InterruptedTransfer_LeavesNothingAndTellsWhatToFetch()
    {
        using var dir = TestPaths.CreateTempDirectory();
        await using var server = LocalHttpServer.Start(ServeMode.Interrupted);
        var options = Options(server, dir, PayloadSha256);
        var ex = await Assert.ThrowsAsync<WeightsFileException>(() => Vgg16Weights.EnsureDownloadedAsync(options));
        Assert.Contains(options.SourceUri.ToString(), ex.Message, StringComparison.Ordinal);
        Assert.Contains(options.CachedFilePath, ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public async Task EnsureDownloaded_Offline_TellsWhichFileToFetchAndWhere()
    {
        using var dir = TestPaths.CreateTempDirectory();
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var options = new WeightsDownloadOptions { SourceUri = new Uri($"http://127.0.0.1:{port}/vgg16-397923af.pth"), CacheDirectory = dir.Path };
        var ex = await Assert.ThrowsAsync<WeightsFileException>(() => Vgg16Weights.EnsureDownloadedAsync(options));
        Assert.Contains("Fetch http://127.0.0.1:", ex.Message, StringComparison.Ordinal);
        Assert.Contains(Vgg16Weights.OfficialSha256, ex.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(dir.Path, Vgg16Weights.OfficialFileName), ex.Message, StringComparison.Ordinal);
        Assert.Contains(Vgg16Weights.EnvironmentVariable, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnsureDownloaded_NotFoundOrDownloadOff_SaysWhy()
    {
        using var dir = TestPaths.CreateTempDirectory();
        await using var server = LocalHttpServer.Start(ServeMode.NotFound);
        var ex = await Assert.ThrowsAsync<WeightsFileException>(() => Vgg16Weights.EnsureDownloadedAsync(Options(server, dir, PayloadSha256)));
        Assert.Contains("404", ex.Message, StringComparison.Ordinal);

        var off = Options(server, dir, PayloadSha256, allowDownload: false);
        ex = await Assert.ThrowsAsync<WeightsFileException>(() => Vgg16Weights.EnsureDownloadedAsync(off));
        Assert.Contains("downloading is turned off", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resolve_ExplicitPath_WinsAndMustExist()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var file = dir.Combine("mine.pth");
        await File.WriteAllBytesAsync(file, [1, 2, 3]);
        Assert.Equal(file, await Vgg16Weights.ResolveAsync(file));
        var ex = await Assert.ThrowsAsync<WeightsFileException>(() => Vgg16Weights.ResolveAsync(dir.Combine("missing.pth")));
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
    }

    private static WeightsDownloadOptions Options(LocalHttpServer server, TempDirectory dir, string sha256, bool allowDownload = true) => new()
    {
        AllowDownload = allowDownload,
        SourceUri = new Uri(server.BaseUri, "vgg16-test.pth"),
        Sha256 = sha256,
        CacheDirectory = dir.Path,
        FileName = "vgg16-test.pth",
    };

    private enum ServeMode
    {
        Full,
        Interrupted,
        NotFound,
    }

    private sealed class SyncProgress(Action<WeightsDownloadProgress> report) : IProgress<WeightsDownloadProgress>
    {
        public void Report(WeightsDownloadProgress value) => report(value);
    }

    /// <summary>A minimal HTTP/1.1 server on 127.0.0.1 that serves <see cref="Payload"/>; it stops when disposed.</summary>
    private sealed class LocalHttpServer : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(60));
        private readonly Task _loop;
        private readonly ServeMode _mode;
        private int _requests;

        private LocalHttpServer(ServeMode mode)
        {
            _mode = mode;
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            BaseUri = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
            _loop = Task.Run(LoopAsync);
        }

        public Uri BaseUri { get; }

        public int Requests => Volatile.Read(ref _requests);

        public static LocalHttpServer Start(ServeMode mode) => new(mode);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            try
            {
                await _loop;
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }

            _stop.Dispose();
        }

        private async Task LoopAsync()
        {
            for (var i = 0; i < 20 && !_stop.IsCancellationRequested; i++)
            {
                using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                Interlocked.Increment(ref _requests);
                await using var stream = client.GetStream();
                var request = new StringBuilder();
                var buffer = new byte[4096];
                while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var n = await stream.ReadAsync(buffer, _stop.Token);
                    if (n == 0)
                    {
                        break;
                    }

                    request.Append(Encoding.ASCII.GetString(buffer, 0, n));
                }

                if (_mode == ServeMode.NotFound)
                {
                    await stream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), _stop.Token);
                    continue;
                }

                await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {Payload.Length}\r\nConnection: close\r\n\r\n"), _stop.Token);
                var send = _mode == ServeMode.Interrupted ? Payload.Length / 2 : Payload.Length;
                await stream.WriteAsync(Payload.AsMemory(0, send), _stop.Token);
                await stream.FlushAsync(_stop.Token);
            }
        }
    }
}
