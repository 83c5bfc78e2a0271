using System.CommandLine;
using System.Globalization;
using ImageSimilarity.Evaluation;
using ImageSimilarity.Indexing;
using ImageSimilarity.Storage;
using Spectre.Console;

namespace SearchByImage;

/// <summary><c>evaluate &lt;folder&gt;</c>: index a labelled folder and measure leave-one-out retrieval (P@1, P@5, P@10, mAP).</summary>
internal static class EvaluateCommand
{
    private const int ConfusionsShown = 10;

    public static Command Create()
    {
        var folder = new Argument<string>("folder") { Description = "A folder of labelled images: one sub-folder per label, or file names like cat1.jpg, cat2.jpg." };
        var labels = new Option<string?>("--labels") { Description = "Where labels come from: folders (the sub-folder) or prefix (the file name without trailing digits, case-insensitive). Default: folders when the folder has sub-folders, else prefix." };
        labels.AcceptOnlyFromAmong("folders", "prefix");
        var index = new Option<string?>("--index") { Description = "Index file to build or update and keep. Default: a temporary index, deleted afterwards." };
        var json = new Option<bool>("--json") { Description = "Print the figures as JSON." };
        var storePrecision = StorePrecisionOption.Create();
        var model = new ModelOptions(presetAndPrecisionFromIndex: true);
        var selection = new ModelSelection(fromIndex: true);
        var command = new Command("evaluate", "Measure retrieval quality on a labelled folder: each image queries all others (leave-one-out); prints P@1, P@5, P@10, mAP, a per-label table and the most confused label pairs.")
        {
            folder, labels, index, storePrecision, json,
        };
        model.AddTo(command);
        selection.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => CommandErrors.RunAsync(() => RunAsync(
            parseResult.GetRequiredValue(folder),
            parseResult.GetValue(labels),
            parseResult.GetValue(index),
            StorePrecisionOption.Parse(parseResult.GetRequiredValue(storePrecision)),
            parseResult,
            model,
            selection,
            parseResult.GetValue(json),
            cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(string folder, string? labels, string? indexPath, VectorPrecision storePrecision, ParseResult parseResult, ModelOptions model, ModelSelection selection, bool json, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"folder '{folder}' does not exist");
        }

        var root = Path.GetFullPath(folder);
        labels ??= Directory.EnumerateDirectories(root).Any() ? "folders" : "prefix";
        using var temporary = indexPath is null ? new TemporaryIndex() : null;
        var path = indexPath ?? temporary!.Path;
        IndexFile.EnsureWritable(path);

        var found = File.Exists(path) ? await EmbeddedVectorStore.ReadInfoAsync(path, cancellationToken).ConfigureAwait(false) : null;
        var existing = found is null ? null : await EmbeddedVectorStore.OpenOrCreateAsync(path, found.Dimension, found.ModelId, null, cancellationToken).ConfigureAwait(false);
        await using var existingScope = existing;
        var settings = existing is null ? null : IndexSettings.From(existing);
        var options = model.Read(parseResult, settings?.WeightsPath, settings?.Preset, settings?.Precision);
        var properties = existing?.Properties.AsReadOnly();
        var loaded = await selection.LoadAsync(selection.Resolve(parseResult, path, properties), parseResult, model, options, properties, json ? null : new DownloadProgress(), cancellationToken).ConfigureAwait(false);
        using var extractor = loaded.Extractor;
        await using var created = existing is null
            ? await EmbeddedVectorStore.OpenOrCreateAsync(path, extractor.Dimension, extractor.ModelId, new EmbeddedVectorStoreOptions { Precision = storePrecision }, cancellationToken).ConfigureAwait(false)
            : null;
        var store = existing ?? created!;
        if (loaded.Preset is { } preset)
        {
            store.Properties[IndexProperties.Preset] = preset;
        }

        loaded.Record(store.Properties);

        if (!json)
        {
            await Console.Error.WriteLineAsync($"indexing {root} with {extractor.ModelId} ...").ConfigureAwait(false);
        }

        var indexed = await new FolderIndexer(extractor, store).IndexAsync(root, FolderIndexOptions.Default, null, cancellationToken).ConfigureAwait(false);
        await store.SaveChangesAsync(cancellationToken).ConfigureAwait(false);

        // Only this folder's records count, even in a given index that also holds other folders.
        var result = await RetrievalEvaluator.EvaluateAsync(
            store,
            r => r.Metadata.TryGetValue(RecordMetadata.Root, out var recordRoot) && string.Equals(recordRoot, root, StringComparison.Ordinal)
                ? labels == "folders" ? EvaluationLabels.FromFolder(r.Id) : EvaluationLabels.FromFileNamePrefix(r.Id)
                : null,
            cancellationToken).ConfigureAwait(false);

        if (json)
        {
            WriteJson(result, root, labels, loaded, indexed, store.Precision);
        }
        else
        {
            WriteTables(result, labels, loaded, indexed, store.Precision);
        }

        return 0;
    }

    private static void WriteTables(RetrievalEvaluation result, string labels, ModelSelection.Loaded loaded, FolderIndexResult indexed, VectorPrecision storePrecision)
    {
        var summary = new Table().AddColumns("measure", "value").HideHeaders();
        summary.AddRow("model", Markup.Escape($"{loaded.Extractor.ModelId} ({loaded.Preset ?? loaded.Model}, {loaded.Engine} {loaded.Precision})"));
        summary.AddRow("storage precision", InfoCommand.StoreName(storePrecision));
        summary.AddRow("labels", labels);
        summary.AddRow("images", Markup.Escape($"{result.Images} labelled ({result.Queries} queries, {result.Singletons.Count} alone in their label); {indexed.Failed} failed, {indexed.Skipped} skipped"));
        summary.AddRow("P@1", F(result.PrecisionAt1));
        summary.AddRow("P@5", F(result.PrecisionAt5));
        summary.AddRow("P@10", F(result.PrecisionAt10));
        summary.AddRow("mAP", F(result.MeanAveragePrecision));
        AnsiConsole.Write(summary);

        var perLabel = new Table().AddColumns("label", "images", "P@1", "P@5", "P@10", "mAP");
        foreach (var row in result.PerLabel)
        {
            perLabel.AddRow(Markup.Escape(row.Label), row.Images.ToString(CultureInfo.InvariantCulture), F(row.PrecisionAt1), F(row.PrecisionAt5), F(row.PrecisionAt10), F(row.MeanAveragePrecision));
        }

        AnsiConsole.Write(perLabel);
        if (result.Confusions.Count > 0)
        {
            var confusions = new Table().AddColumns("confused labels", $"wrong neighbours in the top {RetrievalEvaluator.ConfusionDepth}");
            foreach (var pair in result.Confusions.Take(ConfusionsShown))
            {
                confusions.AddRow(Markup.Escape($"{pair.First} / {pair.Second}"), pair.Count.ToString(CultureInfo.InvariantCulture));
            }

            AnsiConsole.Write(confusions);
        }
    }

    private static void WriteJson(RetrievalEvaluation result, string root, string labels, ModelSelection.Loaded loaded, FolderIndexResult indexed, VectorPrecision storePrecision)
    {
        JsonOutput.Write(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("folder", root);
            writer.WriteString("labels", labels);
            writer.WriteString("model", loaded.Model);
            writer.WriteString("modelId", loaded.Extractor.ModelId);
            writer.WriteString("preset", loaded.Preset);
            writer.WriteString("storagePrecision", InfoCommand.StoreName(storePrecision));
            writer.WriteNumber("images", result.Images);
            writer.WriteNumber("queries", result.Queries);
            writer.WriteNumber("failed", indexed.Failed);
            writer.WriteNumber("skipped", indexed.Skipped);
            writer.WriteNumber("p1", result.PrecisionAt1);
            writer.WriteNumber("p5", result.PrecisionAt5);
            writer.WriteNumber("p10", result.PrecisionAt10);
            writer.WriteNumber("map", result.MeanAveragePrecision);
            writer.WriteStartArray("singletons");
            foreach (var id in result.Singletons)
            {
                writer.WriteStringValue(id);
            }

            writer.WriteEndArray();
            writer.WriteStartArray("perLabel");
            foreach (var row in result.PerLabel)
            {
                writer.WriteStartObject();
                writer.WriteString("label", row.Label);
                writer.WriteNumber("images", row.Images);
                writer.WriteNumber("p1", row.PrecisionAt1);
                writer.WriteNumber("p5", row.PrecisionAt5);
                writer.WriteNumber("p10", row.PrecisionAt10);
                writer.WriteNumber("map", row.MeanAveragePrecision);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteStartArray("confusions");
            foreach (var pair in result.Confusions)
            {
                writer.WriteStartObject();
                writer.WriteString("first", pair.First);
                writer.WriteString("second", pair.Second);
                writer.WriteNumber("count", pair.Count);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });
    }

    private static string F(double value) => value.ToString("F4", CultureInfo.InvariantCulture);

    /// <summary>A temporary index file (and its SQLite side files), deleted on dispose.</summary>
    private sealed class TemporaryIndex : IDisposable
    {
        private readonly string _directory = Directory.CreateTempSubdirectory("searchbyimage-evaluate-").FullName;

        public string Path => System.IO.Path.Combine(_directory, "evaluate.db");

        public void Dispose()
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
