// The web app's load run (a benchmark, not a test): builds an index of a folder with the CLI, starts the real app
// on 127.0.0.1 as a child process, then drives it with N concurrent clients: searches by upload, then by id.
// Reports failures, throughput, latency percentiles and the server's peak working set (Linux /proc VmHWM).
//
//   dotnet run -c Release --project benchmarks/SearchByImage.Web.LoadRun -- --images ../shared/datasets/seed-sample/images
//     [--weights <file>|random] [--precision bf16|fp32] [--clients 8] [--uploads 200] [--by-id 2000]
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Reflection;
using SearchByImage.Web.TestSupport;

var options = LoadRunOptions.Parse(args);
var metadata = typeof(LoadRunOptions).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().ToDictionary(a => a.Key, a => a.Value!);
var work = Path.Combine(Path.GetTempPath(), "imgsim-loadrun-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(work);
Process? server = null;
try
{
    var weights = options.Weights;
    if (weights == "random")
    {
        weights = Path.Combine(work, "vgg16-random.safetensors");
        Console.WriteLine($"writing random-weight VGG16 weights (bf16 safetensors) to {weights}");
        RandomVgg16Weights.Write(weights);
    }

    var index = Path.Combine(work, "index.db");
    var images = Directory.EnumerateFiles(options.Images).Order(StringComparer.Ordinal).ToList();
    Console.WriteLine($"indexing {images.Count} files of {options.Images} with the CLI ({options.Precision})");
    await RunAsync("dotnet", [metadata["Cli"], "index", options.Images, "--index", index, "--weights", weights, "--precision", options.Precision, "--json"]);

    var port = FreePort();
    var baseUrl = new Uri($"http://127.0.0.1:{port}");
    var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
    psi.ArgumentList.Add(metadata["WebApp"]);
    psi.ArgumentList.Add("--urls");
    psi.ArgumentList.Add(baseUrl.ToString());
    psi.Environment["ImageSimilarity__IndexPath"] = index;
    psi.Environment["ImageSimilarity__WeightsPath"] = weights;
    psi.Environment["ImageSimilarity__Precision"] = options.Precision == "bf16" ? "BFloat16" : "Float32";
    psi.Environment["ImageSimilarity__AllowDownload"] = "false";
    psi.Environment["Logging__LogLevel__Default"] = "Warning";
    psi.Environment["SearchByImage__MaxQueuedExtractions"] = "64";
    server = Process.Start(psi)!;
    var serverLog = new System.Text.StringBuilder();
    server.OutputDataReceived += (_, e) => { lock (serverLog) { serverLog.AppendLine(e.Data); } };
    server.ErrorDataReceived += (_, e) => { lock (serverLog) { serverLog.AppendLine(e.Data); } };
    server.BeginOutputReadLine();
    server.BeginErrorReadLine();

    using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = options.Clients * 2 }) { BaseAddress = baseUrl, Timeout = TimeSpan.FromMinutes(5) };
    var started = Stopwatch.StartNew();
    while (true)
    {
        if (server.HasExited)
        {
            throw new InvalidOperationException("The web app exited:\n" + serverLog);
        }

        try
        {
            using var health = await http.GetAsync("/health");
            if (health.StatusCode == HttpStatusCode.OK)
            {
                break;
            }
        }
        catch (HttpRequestException)
        {
        }

        if (started.Elapsed > TimeSpan.FromMinutes(3))
        {
            throw new TimeoutException("The web app did not become healthy in 3 minutes:\n" + serverLog);
        }

        await Task.Delay(250);
    }

    Console.WriteLine($"server pid {server.Id} healthy at {baseUrl} after {started.Elapsed.TotalSeconds:F1} s; working set {ProcStatus(server.Id, "VmRSS")}");
    var uploads = images.Select(p => (Name: Path.GetFileName(p), Bytes: File.ReadAllBytes(p))).ToList();
    var ids = uploads.Select(u => u.Name).ToList();

    // Warm-up (not measured): JIT, thread pool, thumbnails are not involved.
    await Phase(http, 8, 8, i => Upload(http, uploads[i % uploads.Count]));
    await Phase(http, 8, 100, i => ById(http, ids[i % ids.Count]));

    var rssSampler = new PeakSampler(server.Id);
    var (cpu0, load0) = (CpuSeconds(server.Id), Load());
    var up = await Phase(http, options.Clients, options.Uploads, i => Upload(http, uploads[(i * 7) % uploads.Count]));
    var (cpu1, load1) = (CpuSeconds(server.Id), Load());
    var byId = await Phase(http, options.Clients, options.ById, i => ById(http, ids[(i * 13) % ids.Count]));
    var (cpu2, load2) = (CpuSeconds(server.Id), Load());
    rssSampler.Stop();

    Console.WriteLine();
    Console.WriteLine($"CPU: {Cpu()}, {Environment.ProcessorCount} cores; precision {options.Precision}; {images.Count} images in the index; {options.Clients} concurrent clients");
    Console.WriteLine("| phase | requests | failed | seconds | requests/s | p50 ms | p95 ms | p99 ms | max ms |");
    Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    Console.WriteLine(up.Row("search by upload (POST /api/search)"));
    Console.WriteLine(byId.Row("search by id (GET /api/search?id=)"));
    Console.WriteLine();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"server CPU time (utime + stime): uploads {cpu1 - cpu0:F1} s ({(cpu1 - cpu0) / up.Elapsed.TotalSeconds * 100:F0} % of one core), by id {cpu2 - cpu1:F2} s ({(cpu2 - cpu1) / byId.Elapsed.TotalSeconds * 100:F0} % of one core)"));
    Console.WriteLine($"machine load average (1 min) at the start of the uploads {load0}, between the phases {load1}, at the end {load2}");
    Console.WriteLine($"server peak working set (VmHWM, whole life incl. model load): {ProcStatus(server.Id, "VmHWM")}; highest VmRSS sampled during the measured phases: {rssSampler.PeakKiB / 1024.0:F0} MiB; VmRSS now: {ProcStatus(server.Id, "VmRSS")}");
    if (up.Failed + byId.Failed > 0)
    {
        Console.Error.WriteLine($"{up.Failed + byId.Failed} requests failed: {string.Join("; ", up.Errors.Concat(byId.Errors).Distinct().Take(5))}");
        return 1;
    }

    return 0;
}
finally
{
    if (server is { HasExited: false })
    {
        server.Kill(entireProcessTree: true);
        await server.WaitForExitAsync();
    }

    try
    {
        Directory.Delete(work, recursive: true);
    }
    catch (IOException)
    {
    }
}

static async Task<string?> Upload(HttpClient http, (string Name, byte[] Bytes) image)
{
    using var form = new MultipartFormDataContent();
    var file = new ByteArrayContent(image.Bytes);
    file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
    form.Add(file, "image", image.Name);
    using var response = await http.PostAsync("/api/search", form);
    var body = await response.Content.ReadAsStringAsync();
    return response.StatusCode == HttpStatusCode.OK && body.Contains("\"results\":[{", StringComparison.Ordinal) ? null : $"{(int)response.StatusCode} {body[..Math.Min(200, body.Length)]}";
}

static async Task<string?> ById(HttpClient http, string id)
{
    using var response = await http.GetAsync($"/api/search?id={Uri.EscapeDataString(id)}");
    var body = await response.Content.ReadAsStringAsync();
    return response.StatusCode == HttpStatusCode.OK && body.Contains("\"results\":[{", StringComparison.Ordinal) ? null : $"{(int)response.StatusCode} {body[..Math.Min(200, body.Length)]}";
}

static async Task<PhaseResult> Phase(HttpClient http, int clients, int total, Func<int, Task<string?>> request)
{
    var latencies = new double[total];
    var errors = new System.Collections.Concurrent.ConcurrentBag<string>();
    var next = -1;
    var wall = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
    {
        int i;
        while ((i = Interlocked.Increment(ref next)) < total)
        {
            var t = Stopwatch.GetTimestamp();
            string? error;
            try
            {
                error = await request(i);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                error = ex.Message;
            }

            latencies[i] = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
            if (error is not null)
            {
                errors.Add(error);
            }
        }
    }));
    return new PhaseResult(total, errors.Count, wall.Elapsed, latencies, errors.ToList());
}

static string ProcStatus(int pid, string key)
{
    var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(key + ":", StringComparison.Ordinal));
    return line is null ? "n/a" : $"{long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0:F0} MiB";
}

static string Cpu() => File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

static async Task RunAsync(string file, string[] arguments)
{
    var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in arguments)
    {
        psi.ArgumentList.Add(a);
    }

    using var p = Process.Start(psi)!;
    var stdout = p.StandardOutput.ReadToEndAsync();
    var stderr = p.StandardError.ReadToEndAsync();
    await p.WaitForExitAsync();
    if (p.ExitCode != 0)
    {
        throw new InvalidOperationException($"{string.Join(' ', arguments)} failed ({p.ExitCode}):\n{await stderr}\n{await stdout}");
    }
}

// A process's CPU time so far (user + system, from /proc/PID/stat), in seconds.
static double CpuSeconds(int pid)
{
    var stat = File.ReadAllText($"/proc/{pid}/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    // After "pid (comm) ": state is field 3, utime field 14, stime field 15 (1-based).
    return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
}

static string Load() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

internal sealed record PhaseResult(int Requests, int Failed, TimeSpan Elapsed, double[] Latencies, List<string> Errors)
{
    public string Row(string name)
    {
        var sorted = Latencies.Order().ToArray();
        double P(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return string.Create(CultureInfo.InvariantCulture, $"| {name} | {Requests} | {Failed} | {Elapsed.TotalSeconds:F1} | {Requests / Elapsed.TotalSeconds:F1} | {P(0.50):F1} | {P(0.95):F1} | {P(0.99):F1} | {sorted[^1]:F1} |");
    }
}

/// <summary>Samples a process's resident set every 50 ms.</summary>
internal sealed class PeakSampler
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public PeakSampler(int pid)
    {
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
                if (line is not null)
                {
                    PeakKiB = Math.Max(PeakKiB, long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture));
                }

                await Task.Delay(50);
            }
        });
    }

    public long PeakKiB { get; private set; }

    public void Stop()
    {
        _stop.Cancel();
        _loop.Wait();
    }
}

internal sealed record LoadRunOptions(string Images, string Weights, string Precision, int Clients, int Uploads, int ById)
{
    public static LoadRunOptions Parse(string[] args)
    {
        string? Get(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        var images = Get("--images") ?? throw new ArgumentException("--images <folder> is required (for example ../shared/datasets/seed-sample/images).");
        var precision = Get("--precision") ?? "bf16";
        if (precision is not ("bf16" or "fp32"))
        {
            throw new ArgumentException("--precision must be bf16 or fp32.");
        }

        return new LoadRunOptions(
            images,
            Get("--weights") ?? "random",
            precision,
            int.Parse(Get("--clients") ?? "8", CultureInfo.InvariantCulture),
            int.Parse(Get("--uploads") ?? "200", CultureInfo.InvariantCulture),
            int.Parse(Get("--by-id") ?? "2000", CultureInfo.InvariantCulture));
    }
}
