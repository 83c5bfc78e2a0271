using System.CommandLine;
using System.Globalization;
using ImageSimilarity.Storage;
using SearchByImage.Postgres;
using Spectre.Console;

namespace SearchByImage;

/// <summary><c>info</c>: what an index holds.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var index = new Option<string?>("--index") { Description = $"Index file. Default: ${CliDefaults.IndexEnvironmentVariable}, else {CliDefaults.IndexPath}." };
        var json = new Option<bool>("--json") { Description = "Print as JSON." };
        var command = new Command("info", "Show what an index holds: count, model, preset, precision, search mode, size on disk, created/updated.") { index, json };
        var stores = new PostgresStoreOptions();
        stores.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => CommandErrors.RunAsync(() => stores.IsPostgres(parseResult)
            ? PostgresInfo.RunAsync(parseResult, stores, parseResult.GetValue(json), cancellationToken)
            : RunAsync(parseResult.GetValue(index) ?? CliDefaults.IndexPath, parseResult.GetValue(json), cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(string indexPath, bool json, CancellationToken cancellationToken)
    {
        IndexFile.EnsureNotDirectory(indexPath);
        if (!File.Exists(indexPath))
        {
            throw new IOException(CliDefaults.LegacyHint(indexPath) is { } hint
                ? $"index '{indexPath}' does not exist; {hint}"
                : $"index '{indexPath}' does not exist: build it with 'index <folder>' (or pass --index)");
        }

        // Properties and a count only (both formats): an index of millions of vectors answers at once.
        var store = await EmbeddedVectorStore.ReadInfoAsync(indexPath, cancellationToken).ConfigureAwait(false);
        var settings = IndexSettings.From(store.Properties);
        var rows = new List<(string Key, string Value)>
        {
            ("index", Path.GetFullPath(indexPath)),
            ("images", store.Count.ToString(CultureInfo.InvariantCulture)),
            ("model", store.ModelId),
            ("model name", store.Properties.GetValueOrDefault(IndexProperties.Model) ?? "vgg16"),
            ("engine", store.Properties.GetValueOrDefault(IndexProperties.Engine) ?? "torchsharp"),
            ("dimension", store.Dimension.ToString(CultureInfo.InvariantCulture)),
            ("preset", IndexSettings.PresetOf(store.Properties, store.ModelId) ?? "unknown"),
            ("extraction precision", settings.Precision ?? "unknown"),
            ("storage precision", StoreName(store.Precision)),
            ("search", TwoStageSetting.Describe(store.TwoStageCandidates)),
            ("binary codes", store.HasBinaryCodes ? "yes" : "no"),
            ("size on disk", FormatBytes(store.FileSize)),
            ("format", store.FormatVersion == 1 ? "1 (old single file: convert with 'import')" : $"{store.FormatVersion} (SQLite)"),
            ("created", store.CreatedUtc.ToString("u", CultureInfo.InvariantCulture)),
            ("updated", store.UpdatedUtc.ToString("u", CultureInfo.InvariantCulture)),
            ("weights", settings.WeightsPath ?? "unknown"),
            ("engine choice", store.Properties.GetValueOrDefault(IndexProperties.AutoChoice) ?? "none (engine and precision not auto)"),
            ("folders", store.Properties.TryGetValue(IndexProperties.Folders, out var folders) ? folders.Replace('\n', ' ') : "none"),
        };

        if (json)
        {
            JsonOutput.Write(writer =>
            {
                writer.WriteStartObject();
                writer.WriteString("index", Path.GetFullPath(indexPath));
                writer.WriteNumber("images", store.Count);
                writer.WriteString("model", store.ModelId);
                writer.WriteString("modelName", store.Properties.GetValueOrDefault(IndexProperties.Model) ?? "vgg16");
                writer.WriteString("engine", store.Properties.GetValueOrDefault(IndexProperties.Engine) ?? "torchsharp");
                writer.WriteNumber("dimension", store.Dimension);
                writer.WriteString("preset", IndexSettings.PresetOf(store.Properties, store.ModelId));
                writer.WriteString("extractionPrecision", settings.Precision);
                writer.WriteString("storagePrecision", StoreName(store.Precision));
                TwoStageSetting.WriteJson(writer, store.TwoStageCandidates);
                writer.WriteBoolean("binaryCodes", store.HasBinaryCodes);
                writer.WriteNumber("bytesOnDisk", store.FileSize);
                writer.WriteNumber("formatVersion", store.FormatVersion);
                writer.WriteString("createdUtc", store.CreatedUtc);
                writer.WriteString("updatedUtc", store.UpdatedUtc);
                writer.WriteString("weights", settings.WeightsPath);
                writer.WriteString("autoChoice", store.Properties.GetValueOrDefault(IndexProperties.AutoChoice));
                writer.WriteEndObject();
            });
            return 0;
        }

        var table = new Table().AddColumns("property", "value").HideHeaders();
        foreach (var (key, value) in rows)
        {
            table.AddRow(Markup.Escape(key), Markup.Escape(value));
        }

        AnsiConsole.Write(table);
        return 0;
    }

    private static string FormatBytes(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F2} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):F1} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F1} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };

    /// <summary>The name <c>index --store-precision</c> takes for a storage precision.</summary>
    internal static string StoreName(VectorPrecision precision) => precision switch
    {
        VectorPrecision.Half => "half",
        VectorPrecision.Int8 => "int8",
        _ => "fp32",
    };
}
