using System.Diagnostics;
using Xunit.Abstractions;

namespace ImageSimilarity.Fuzzing;

/// <summary>
/// Feeds mutated inputs to one reader: each must load or throw the reader's documented exception type, within a
/// per-input timeout. Failing inputs are written to a folder (named in the failure) so they can be replayed.
/// </summary>
internal static class FuzzRunner
{
    /// <summary>The time one input may take; readers take microseconds to milliseconds, so only a hang reaches it.</summary>
    public static readonly TimeSpan PerInputTimeout = TimeSpan.FromSeconds(20);

    /// <summary>How many mutated inputs each reader gets; FUZZ_INPUTS overrides it (for longer local runs).</summary>
    public static int InputsPerReader =>
        int.TryParse(Environment.GetEnvironmentVariable("FUZZ_INPUTS"), out var n) && n > 0 ? n : 10_000;

    /// <summary>Runs <paramref name="count"/> mutations of the seeds through <paramref name="load"/>.</summary>
    /// <returns>How many inputs loaded and how many were refused with the documented exception.</returns>
    public static FuzzSummary Run<TDocumented>(string reader, IReadOnlyList<byte[]> seeds, int count, Action<byte[]> load, ITestOutputHelper output, int randomSeed)
        where TDocumented : Exception
    {
        var mutator = new Mutator(randomSeed);
        var clock = Stopwatch.StartNew();
        int loaded = 0, refused = 0;
        var failures = new List<string>();
        string? failureDir = null;
        var seedsLoaded = seeds.Select((s, i) => Outcome<TDocumented>(s, load)).ToList();
        Assert.All(seedsLoaded, o => Assert.True(o.Error is null, $"{reader}: an unmutated seed must load, but: {o.Error}"));

        for (var i = 0; i < count; i++)
        {
            var input = mutator.Mutate(seeds[i % seeds.Count]);
            var outcome = Outcome<TDocumented>(input, load);
            if (outcome.Error is null)
            {
                if (outcome.Refused)
                {
                    refused++;
                }
                else
                {
                    loaded++;
                }

                continue;
            }

            failureDir ??= Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"imgsim-fuzz-{reader}-{Environment.ProcessId}")).FullName;
            var file = Path.Combine(failureDir, $"input-{i:00000}.bin");
            File.WriteAllBytes(file, input);
            failures.Add($"input {i} ({mutator.LastMutation}), saved as {file}: {outcome.Error}");
            if (failures.Count >= 10 || outcome.TimedOut)
            {
                break;
            }
        }

        clock.Stop();
        var summary = new FuzzSummary(reader, loaded + refused + failures.Count, loaded, refused, clock.Elapsed);
        output.WriteLine(summary.ToString());
        Assert.True(failures.Count == 0, $"{reader}: {failures.Count} inputs neither loaded nor threw {typeof(TDocumented).Name}:\n" + string.Join('\n', failures));
        return summary;
    }

    private static (bool Refused, string? Error, bool TimedOut) Outcome<TDocumented>(byte[] input, Action<byte[]> load)
        where TDocumented : Exception
    {
        var task = Task.Factory.StartNew(() => load(input), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            if (!task.Wait(PerInputTimeout))
            {
                return (false, $"did not finish within {PerInputTimeout.TotalSeconds:F0} s (a hang)", true);
            }

            return (false, null, false);
        }
        catch (AggregateException ex) when (ex.InnerException is TDocumented)
        {
            return (true, null, false);
        }
        catch (AggregateException ex)
        {
            var inner = ex.InnerException ?? ex;
            return (false, $"{inner.GetType().FullName}: {inner.Message}\n{inner.StackTrace}", false);
        }
    }
}

/// <summary>The counts and time of one reader's fuzz run.</summary>
internal sealed record FuzzSummary(string Reader, int Inputs, int Loaded, int Refused, TimeSpan Elapsed)
{
    public override string ToString() =>
        $"fuzz {Reader}: {Inputs:N0} mutated inputs in {Elapsed.TotalSeconds:F1} s: {Loaded:N0} loaded, {Refused:N0} refused with the documented exception, 0 other outcomes";
}
