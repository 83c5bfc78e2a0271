using System.Text.Json.Nodes;
using ImageSimilarity.Extraction;
using ImageSimilarity.TestSupport;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>
/// "auto" by measurement: the real engines (TorchSharp fp32 and bf16, ONNX Runtime fp32) timed on the random-weight
/// VGG16 file the real PyTorch wrote, the result cached per CPU model string in a JSON file.
/// </summary>
[Collection(Vgg16OnnxCollection.Name)]
public sealed class Vgg16AutoChoiceCacheTests(Vgg16ReferenceFixture fixture, ITestOutputHelper output) : IDisposable
{
    private static readonly (Vgg16Engine, ComputePrecision)[] All =
    [
        (Vgg16Engine.TorchSharp, ComputePrecision.Float32),
        (Vgg16Engine.OnnxRuntime, ComputePrecision.Float32),
        (Vgg16Engine.TorchSharp, ComputePrecision.BFloat16),
    ];

    private readonly TempDirectory _cache = TestPaths.CreateTempDirectory("imgsim-auto-cache");

    public void Dispose() => _cache.Dispose();

    [SkippableFact]
    public async Task ChooseAsync_NoCacheEntry_MeasuresEveryCandidateThenReadsTheCache()
    {
        var cpu = Cpu("Test CPU Alpha 9000");
        var logger = new ListLogger();

        var first = await ChooseAsync(null, null, cpu, logger);

        output.WriteLine(first.Reason);
        Assert.Equal(Vgg16ChoiceSource.Measured, first.Source);
        Assert.Equal(All, first.Measurements.Select(m => (m.Engine, m.Precision)));
        Assert.All(first.Measurements, m => Assert.True(m.ImagesPerSecond > 0 && double.IsFinite(m.ImagesPerSecond)));
        var fastest = first.Measurements.MaxBy(m => m.ImagesPerSecond)!;
        Assert.Equal((fastest.Engine, fastest.Precision), (first.Engine, first.Precision));
        Assert.Null(first.Warning);
        Assert.Contains("Test CPU Alpha 9000", first.Reason, StringComparison.Ordinal);
        Assert.Contains(logger.Lines, l => l.Contains("no measurement cached", StringComparison.Ordinal));

        // The file is named after the CPU model and holds what was measured.
        var file = Assert.Single(Directory.GetFiles(_cache.Path));
        Assert.Equal(file, first.CacheFile);
        Assert.StartsWith("vgg16-test-cpu-alpha-9000-", Path.GetFileName(file), StringComparison.Ordinal);
        var json = JsonNode.Parse(await File.ReadAllTextAsync(file))!;
        Assert.Equal("Test CPU Alpha 9000", (string?)json["cpuModel"]);
        Assert.Equal(3, json["results"]!.AsArray().Count);
        var written = File.GetLastWriteTimeUtc(file);

        var second = await ChooseAsync(null, null, cpu, logger);

        Assert.Equal(Vgg16ChoiceSource.Cached, second.Source);
        Assert.Equal((first.Engine, first.Precision), (second.Engine, second.Precision));
        Assert.Equal(first.Measurements.Select(m => Math.Round(m.ImagesPerSecond, 3)), second.Measurements.Select(m => m.ImagesPerSecond));
        Assert.Equal(written, File.GetLastWriteTimeUtc(file));
        Assert.Contains("measured earlier", second.Reason, StringComparison.Ordinal);

        // What is picked loads and runs.
        using var extractor = await Vgg16EngineSelector.LoadAsync(second, new Vgg16ExtractorOptions { WeightsPath = fixture.Data.File("vgg16_zip.pth"), BatchSize = 1 });
        Assert.Equal(second.Engine == Vgg16Engine.OnnxRuntime, extractor is OnnxFeatureExtractor);
    }

    [SkippableFact]
    public async Task ChooseAsync_KeyedByCpuModel_AnotherModelMeasuresIntoItsOwnFileAndAnEditedEntryIsObeyed()
    {
        var alpha = Cpu("Test CPU Alpha");
        var beta = Cpu("Test CPU Beta");

        // A user's (or an earlier machine's) entry for Alpha that says ONNX Runtime fp32 is by far the fastest.
        var alphaFile = EngineChoiceCache.PathFor(_cache.Path, alpha);
        EngineChoiceCache.Write(alphaFile, alpha, 1, [new(Vgg16Engine.TorchSharp, ComputePrecision.Float32, 1), new(Vgg16Engine.OnnxRuntime, ComputePrecision.Float32, 1000), new(Vgg16Engine.TorchSharp, ComputePrecision.BFloat16, 2)]);
        var alphaBytes = await File.ReadAllBytesAsync(alphaFile);

        var forBeta = await ChooseAsync(null, null, beta, new ListLogger());

        Assert.Equal(Vgg16ChoiceSource.Measured, forBeta.Source);
        Assert.NotEqual(alphaFile, forBeta.CacheFile);
        Assert.Equal(2, Directory.GetFiles(_cache.Path).Length);
        Assert.Equal(alphaBytes, await File.ReadAllBytesAsync(alphaFile));
        Assert.Equal("Test CPU Beta", (string?)JsonNode.Parse(await File.ReadAllTextAsync(forBeta.CacheFile!))!["cpuModel"]);

        var forAlpha = await ChooseAsync(null, null, alpha, new ListLogger());
        Assert.Equal((Vgg16ChoiceSource.Cached, Vgg16Engine.OnnxRuntime, ComputePrecision.Float32), (forAlpha.Source, forAlpha.Engine, forAlpha.Precision));

        // A fixed engine picks among that engine's cached entries only; Remeasure ignores the entry and overwrites it.
        var torchOnly = await ChooseAsync(Vgg16Engine.TorchSharp, null, alpha, new ListLogger());
        Assert.Equal((Vgg16ChoiceSource.Cached, Vgg16Engine.TorchSharp, ComputePrecision.BFloat16), (torchOnly.Source, torchOnly.Engine, torchOnly.Precision));
        var remeasured = await ChooseAsync(Vgg16Engine.TorchSharp, null, alpha, new ListLogger(), new Vgg16AutoOptions { CacheDirectory = _cache.Path, Remeasure = true, BatchSize = 1, Runs = 1 });
        Assert.Equal(Vgg16ChoiceSource.Measured, remeasured.Source);
        Assert.DoesNotContain(remeasured.Measurements, m => m.ImagesPerSecond == 1000);
        Assert.NotEqual(alphaBytes, await File.ReadAllBytesAsync(alphaFile));
    }

    [SkippableTheory]
    [InlineData("{ not json")]
    [InlineData("{\"version\":1,\"cpuModel\":\"Test CPU Gamma\",\"processorCount\":PROCS,\"results\":[{\"engine\":\"warp-drive\",\"precision\":\"fp32\",\"imagesPerSecond\":5}]}")]
    public async Task ChooseAsync_CorruptCacheFile_WarnsMeasuresAndRewritesIt(string content)
    {
        var gamma = Cpu("Test CPU Gamma");
        var file = EngineChoiceCache.PathFor(_cache.Path, gamma);
        await File.WriteAllTextAsync(file, content.Replace("PROCS", Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
        var logger = new ListLogger();

        var choice = await ChooseAsync(null, null, gamma, logger);

        output.WriteLine(choice.Warning);
        Assert.Equal(Vgg16ChoiceSource.Measured, choice.Source);
        Assert.NotNull(choice.Warning);
        Assert.Contains(file, choice.Warning, StringComparison.Ordinal);
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains(file, StringComparison.Ordinal));
        var json = JsonNode.Parse(await File.ReadAllTextAsync(file))!;
        Assert.Equal("Test CPU Gamma", (string?)json["cpuModel"]);
        Assert.Equal(3, json["results"]!.AsArray().Count);
        Assert.Equal(Vgg16ChoiceSource.Cached, (await ChooseAsync(null, null, gamma, new ListLogger())).Source);
    }

    [Fact]
    public async Task ChooseAsync_MeasuringOff_AppliesTheRuleAndWritesNothing()
    {
        var amd = new CpuFeatures("Test AMD", "AuthenticAMD", HasAvx512Bf16: true, HasAmxBf16: false);
        var choice = await Vgg16EngineSelector.ChooseCoreAsync(null, null, null, new Vgg16AutoOptions { Measure = false, CacheDirectory = _cache.Path }, null, null, amd, CancellationToken.None);

        Assert.Equal((Vgg16ChoiceSource.Rule, Vgg16Engine.TorchSharp, ComputePrecision.BFloat16), (choice.Source, choice.Engine, choice.Precision));
        Assert.Contains("measuring is off", choice.Reason, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_cache.Path));
    }

    [Fact]
    public async Task ChooseAsync_OneCandidateLeft_IsFixedWithoutMeasuring()
    {
        var cpu = Cpu("Test CPU Delta");
        var onnx = await Vgg16EngineSelector.ChooseCoreAsync(Vgg16Engine.OnnxRuntime, null, null, new Vgg16AutoOptions { CacheDirectory = _cache.Path }, null, null, cpu, CancellationToken.None);
        var fixedBoth = await Vgg16EngineSelector.ChooseCoreAsync(Vgg16Engine.TorchSharp, ComputePrecision.BFloat16, null, new Vgg16AutoOptions { CacheDirectory = _cache.Path }, null, null, cpu, CancellationToken.None);

        Assert.Equal((Vgg16ChoiceSource.Fixed, Vgg16Engine.OnnxRuntime, ComputePrecision.Float32), (onnx.Source, onnx.Engine, onnx.Precision));
        Assert.Equal((Vgg16ChoiceSource.Fixed, Vgg16Engine.TorchSharp, ComputePrecision.BFloat16), (fixedBoth.Source, fixedBoth.Engine, fixedBoth.Precision));
        Assert.Empty(Directory.GetFiles(_cache.Path));
        await Assert.ThrowsAsync<ArgumentException>("precision", () => Vgg16EngineSelector.ChooseCoreAsync(Vgg16Engine.OnnxRuntime, ComputePrecision.BFloat16, null, null, null, null, cpu, CancellationToken.None));
    }

    [Fact]
    public void Defaults_FollowTheEnvironment()
    {
        var saved = (Environment.GetEnvironmentVariable("IMAGESIMILARITY_CACHE"), Environment.GetEnvironmentVariable("XDG_CACHE_HOME"), Environment.GetEnvironmentVariable(Vgg16AutoOptions.MeasureEnvironmentVariable));
        try
        {
            Environment.SetEnvironmentVariable("IMAGESIMILARITY_CACHE", null);
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", _cache.Path);
            Environment.SetEnvironmentVariable(Vgg16AutoOptions.MeasureEnvironmentVariable, null);
            Assert.Equal(Path.Combine(_cache.Path, "imagesimilarity", "engine-choice"), new Vgg16AutoOptions().CacheDirectory);
            Assert.True(new Vgg16AutoOptions().Measure);

            Environment.SetEnvironmentVariable("IMAGESIMILARITY_CACHE", _cache.Combine("own"));
            Environment.SetEnvironmentVariable(Vgg16AutoOptions.MeasureEnvironmentVariable, "0");
            Assert.Equal(_cache.Combine("own", "engine-choice"), new Vgg16AutoOptions().CacheDirectory);
            Assert.False(new Vgg16AutoOptions().Measure);
            Assert.True(new Vgg16AutoOptions { Measure = true }.Measure);
            Assert.Equal(_cache.Combine("x"), new Vgg16AutoOptions { CacheDirectory = _cache.Combine("x") }.CacheDirectory);
        }
        finally
        {
            Environment.SetEnvironmentVariable("IMAGESIMILARITY_CACHE", saved.Item1);
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", saved.Item2);
            Environment.SetEnvironmentVariable(Vgg16AutoOptions.MeasureEnvironmentVariable, saved.Item3);
        }

        Assert.Throws<ArgumentException>("value", () => new Vgg16AutoOptions { CacheDirectory = " " });
        Assert.Throws<ArgumentOutOfRangeException>("value", () => new Vgg16AutoOptions { BatchSize = 0 });
    }

    [Fact]
    public void PathFor_DependsOnTheExactModelString()
    {
        var a = EngineChoiceCache.PathFor(_cache.Path, Cpu("AMD EPYC 9R14"));
        var b = EngineChoiceCache.PathFor(_cache.Path, Cpu("AMD EPYC 9R14 "));
        var c = EngineChoiceCache.PathFor(_cache.Path, Cpu("../../etc/passwd"));

        Assert.NotEqual(a, b);
        Assert.StartsWith("vgg16-amd-epyc-9r14-", Path.GetFileName(a), StringComparison.Ordinal);
        Assert.Equal(_cache.Path, Path.GetDirectoryName(c));
        Assert.StartsWith("vgg16-etc-passwd-", Path.GetFileName(c), StringComparison.Ordinal);
    }

    private static CpuFeatures Cpu(string model) => new(model, "TestVendor", HasAvx512Bf16: false, HasAmxBf16: false);

    private Task<Vgg16EngineChoice> ChooseAsync(Vgg16Engine? engine, ComputePrecision? precision, CpuFeatures cpu, ListLogger logger, Vgg16AutoOptions? auto = null)
        => Vgg16EngineSelector.ChooseCoreAsync(
            engine,
            precision,
            new Vgg16ExtractorOptions { WeightsPath = fixture.Data.File("vgg16_zip.pth") },
            auto ?? new Vgg16AutoOptions { CacheDirectory = _cache.Path, BatchSize = 1, Runs = 1 },
            logger,
            null,
            cpu,
            CancellationToken.None);

    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, string Message)> Entries { get; } = [];

        public IEnumerable<string> Lines => Entries.Select(e => e.Message);

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Entries)
            {
                Entries.Add((logLevel, formatter(state, exception)));
            }
        }
    }
}
