using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ImageSimilarity.TestSupport;

/// <summary>
/// A throw-away PostgreSQL server with pgvector: initdb into a temporary folder, started on 127.0.0.1 on a free port,
/// run as the <c>postgres</c> user when this process is root (the server refuses to run as root), stopped and deleted
/// on dispose. The binaries come from $IMAGESIMILARITY_PG_BIN, else /usr/lib/postgresql/17/bin (Debian's
/// postgresql-17, installed with pgvector by <c>eng/install-prerequisites.sh --test</c>).
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _folder;
    private readonly bool _asPostgresUser;

    private PostgresServer(string bin, string folder, int port, bool asPostgresUser)
    {
        _bin = bin;
        _folder = folder;
        Port = port;
        _asPostgresUser = asPostgresUser;
    }

    /// <summary>Gets the TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>Gets a connection string for the superuser <c>imgsim</c> and database <c>postgres</c>.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=imgsim;Database=postgres;Timeout=10;Include Error Detail=true";

    /// <summary>Gets the server's log file.</summary>
    public string LogPath => Path.Combine(_folder, "server.log");

    private string DataDirectory => Path.Combine(_folder, "data");

    /// <summary>Finds the server binaries, or explains why there are none.</summary>
    public static string? FindBinaries(out string reason)
    {
        var bin = Environment.GetEnvironmentVariable("IMAGESIMILARITY_PG_BIN") is { Length: > 0 } env ? env : "/usr/lib/postgresql/17/bin";
        if (!File.Exists(Path.Combine(bin, "postgres")) || !File.Exists(Path.Combine(bin, "initdb")))
        {
            reason = $"PostgreSQL 17 is not installed at {bin}: run eng/install-prerequisites.sh --test (Debian) or set IMAGESIMILARITY_PG_BIN to a PostgreSQL 17 bin folder with pgvector installed.";
            return null;
        }

        reason = string.Empty;
        return bin;
    }

    /// <summary>Creates and starts a server.</summary>
    /// <param name="settings">Extra <c>-c name=value</c> server settings.</param>
    public static async Task<PostgresServer> StartAsync(params string[] settings)
    {
        var bin = FindBinaries(out var reason) ?? throw new InvalidOperationException(reason);
        var folder = Path.Combine(Path.GetTempPath(), "imgsim-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        var asPostgresUser = Environment.UserName == "root" || Environment.GetEnvironmentVariable("USER") == "root" || GetEuid() == 0;
        if (asPostgresUser)
        {
            await RunAsync("chown", ["postgres:postgres", folder]);
        }

        var server = new PostgresServer(bin, folder, FreePort(), asPostgresUser);
        await server.RunServerToolAsync("initdb", ["-D", server.DataDirectory, "-U", "imgsim", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"]);
        var conf = new List<string>
        {
            $"port = {server.Port}",
            "listen_addresses = '127.0.0.1'",
            $"unix_socket_directories = '{folder}'",
            // Faster on a shared test machine; an immediate stop (like a crash of the server, not of the OS) loses
            // nothing with these, because the OS keeps the written pages. synchronous_commit stays on: with it off, an
            // acknowledged commit can be lost by an immediate stop, which the restart tests would (rightly) report.
            "fsync = off",
            "full_page_writes = off",
            "shared_buffers = 256MB",
            "max_connections = 60",
        };
        conf.AddRange(settings);
        await File.AppendAllLinesAsync(Path.Combine(server.DataDirectory, "postgresql.conf"), conf);
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts the stopped server again on the same port and data.</summary>
    public Task StartAgainAsync()
        => RunServerToolAsync("pg_ctl", ["-D", DataDirectory, "-l", LogPath, "-w", "-t", "60", "start"]);

    /// <summary>Stops the server: <c>fast</c> (clients disconnected, clean shutdown) or <c>immediate</c> (like a crash; recovery on the next start).</summary>
    public Task StopAsync(string mode = "fast")
        => RunServerToolAsync("pg_ctl", ["-D", DataDirectory, "-m", mode, "-w", "-t", "60", "stop"]);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync("immediate");
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }

        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static uint GetEuid()
    {
        try
        {
            return uint.Parse(File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[2], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return uint.MaxValue;
        }
    }

    private Task RunServerToolAsync(string tool, string[] arguments)
        => _asPostgresUser
            ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_bin, tool), .. arguments])
            : RunAsync(Path.Combine(_bin, tool), arguments);

    private static async Task RunAsync(string file, string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // pg_ctl's server inherits the redirected pipes unless they are closed; reading them to the end would then wait
        // for the server to exit, so only the tool's own exit is awaited and the output read without blocking on EOF.
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            await Task.WhenAny(Task.WhenAll(output, error), Task.Delay(5000));
            var text = (error.IsCompletedSuccessfully ? error.Result : string.Empty) + (output.IsCompletedSuccessfully ? output.Result : string.Empty);
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed with exit code {process.ExitCode}: {text.Trim()}");
        }
    }
}
