using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ImageSimilarity.Storage;

namespace SearchByImage;

/// <summary>
/// <c>index --two-stage N|off</c>: two-stage search recorded in the index (binary codes scanned first, then N candidates
/// re-ranked exactly), and how the commands open such an index (vectors left in the file).
/// </summary>
internal sealed class TwoStageSetting
{
    /// <summary>The largest candidate count accepted on the command line.</summary>
    public const int MaxCandidates = 100_000;

    private TwoStageSetting(int? candidates) => Candidates = candidates;

    /// <summary>Gets the candidate count to record, or <see langword="null"/> to go back to exact search.</summary>
    public int? Candidates { get; }

    public static Option<string?> CreateOption()
    {
        var option = new Option<string?>("--two-stage")
        {
            Description = "Two-stage search for large indexes: N (e.g. 200) builds a binary code per image and makes searches scan the codes, "
                + "then re-rank the N best candidates exactly, reading their vectors from the index file; 'off' goes back to exact search. "
                + "Recorded in the index (see 'info'); without the option the index keeps its setting. See docs/storage.md.",
        };
        option.Validators.Add(r =>
        {
            var text = r.Tokens.Count == 1 ? r.Tokens[0].Value : null;
            if (text is null || !TryParse(text, out _))
            {
                r.AddError(string.Create(CultureInfo.InvariantCulture, $"--two-stage takes a candidate count from 1 to {MaxCandidates} or 'off' (got '{text}')."));
            }
        });
        return option;
    }

    /// <summary>Reads a value the option's validator accepted; <see langword="null"/> when the option was not given.</summary>
    public static TwoStageSetting? Parse(string? text) => text is null ? null : TryParse(text, out var setting) ? setting : null;

    /// <summary>
    /// The options to open an existing SQLite index with: vectors stay in the file when the index is searched in two
    /// stages (only ids, metadata and codes are loaded); <see langword="null"/> (load everything) otherwise.
    /// </summary>
    public static EmbeddedVectorStoreOptions? OpenOptions(IndexFileInfo info) =>
        info.FormatVersion >= 2 && info.TwoStageCandidates is not null && info.HasBinaryCodes
            ? new EmbeddedVectorStoreOptions { VectorsInMemory = false } // the store keeps the file's precision
            : null;

    /// <summary>A line for people: what a search of the index does by default.</summary>
    public static string Describe(int? candidates) => candidates is { } n
        ? string.Create(CultureInfo.InvariantCulture, $"two-stage, {n} candidates re-ranked exactly (search --exact for an exact search)")
        : "exact (every vector compared)";

    public static void WriteJson(Utf8JsonWriter writer, int? candidates)
    {
        if (candidates is { } n)
        {
            writer.WriteNumber("twoStageCandidates", n);
        }
        else
        {
            writer.WriteNull("twoStageCandidates");
        }
    }

    /// <summary>Records the setting in the store (building the binary codes when the index has none).</summary>
    public async Task ApplyAsync(EmbeddedVectorStore store, bool quiet, CancellationToken cancellationToken)
    {
        if (Candidates is not { } n)
        {
            await store.DisableTwoStageAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        if (!store.HasBinaryCodes && !quiet)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"building binary codes of {store.Count} images for two-stage search..."));
        }

        await store.EnableTwoStageAsync(n, cancellationToken).ConfigureAwait(false);
    }

    private static bool TryParse(string text, out TwoStageSetting setting)
    {
        if (string.Equals(text, "off", StringComparison.OrdinalIgnoreCase))
        {
            setting = new TwoStageSetting(null);
            return true;
        }

        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= MaxCandidates)
        {
            setting = new TwoStageSetting(n);
            return true;
        }

        setting = null!;
        return false;
    }
}
