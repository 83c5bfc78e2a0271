using System.CommandLine;
using System.Globalization;
using ImageSimilarity.Indexing;
using ImageSimilarity.Storage;
using SearchByImage.Postgres;
using Spectre.Console;

namespace SearchByImage;

/// <summary><c>index &lt;folder&gt;</c>: extract and store features of every image in a folder, incrementally.</summary>
internal static class IndexCommand
{
    public static Command Create()
    {
        var folder = new Argument<string?>("folder") { Description = "The folder of images to index (with --store postgres, also a listing file of paths).", Arity = ArgumentArity.ZeroOrOne };
        var stores = new PostgresStoreOptions();
        var postgres = new PostgresIndex();
        var index = new Option<string?>("--index") { Description = $"Index file. Default: ${CliDefaults.IndexEnvironmentVariable}, else {CliDefaults.IndexPath}." };
        var model = new ModelOptions(presetAndPrecisionFromIndex: true);
        var selection = new ModelSelection(fromIndex: true);
        var storePrecision = StorePrecisionOption.Create();
        var topLevelOnly = new Option<bool>("--top-level-only") { Description = "Do not index sub-folders." };
        var include = new Option<string[]>("--include") { Description = "Glob of relative paths to index (repeatable), e.g. '**/*.jpg'. Default: every file (decoded by content).", AllowMultipleArgumentsPerToken = true };
        var exclude = new Option<string[]>("--exclude") { Description = "Glob of relative paths to leave out (repeatable).", AllowMultipleArgumentsPerToken = true };
        var json = new Option<bool>("--json") { Description = "Print a machine-readable JSON summary instead of the progress bar and table." };
        var twoStage = TwoStageSetting.CreateOption();

        var command = new Command("index", "Index every image in a folder: new and changed files are extracted, unchanged ones skipped, deleted ones removed.")
        {
            folder, index, storePrecision, topLevelOnly, include, exclude, twoStage, json,
        };
        model.AddTo(command);
        selection.AddTo(command);
        stores.AddTo(command);
        postgres.AddTo(command);
        command.Validators.Add(r =>
        {
            if (r.GetValue(folder) is null && !(r.GetValue(stores.Store) == "postgres" && (r.GetValue(postgres.Status) || r.GetValue(postgres.Join))))
            {
                r.AddError("Give the folder to index (only --store postgres with --status or --join works without one).");
            }
        });
        command.SetAction((parseResult, cancellationToken) => CommandErrors.RunAsync(() => stores.IsPostgres(parseResult)
            ? postgres.RunAsync(parseResult, stores, model, selection, parseResult.GetValue(folder), new FolderIndexOptions { Recursive = !parseResult.GetValue(topLevelOnly), Include = parseResult.GetValue(include) ?? [], Exclude = parseResult.GetValue(exclude) ?? [] }, parseResult.GetValue(json), cancellationToken)
            : RunAsync(
            parseResult.GetValue(folder)!,
            parseResult.GetValue(index) ?? CliDefaults.IndexPath,
            parseResult,
            model,
            selection,
            StorePrecisionOption.Parse(parseResult.GetRequiredValue(storePrecision)),
            new FolderIndexOptions
            {
                Recursive = !parseResult.GetValue(topLevelOnly),
                Include = parseResult.GetValue(include) ?? [],
                Exclude = parseResult.GetValue(exclude) ?? [],
            },
            TwoStageSetting.Parse(parseResult.GetValue(twoStage)),
            parseResult.GetValue(json),
            cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(string folder, string indexPath, ParseResult parseResult, ModelOptions model, ModelSelection selection, VectorPrecision storePrecision, FolderIndexOptions folderOptions, TwoStageSetting? twoStage, bool json, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"folder '{folder}' does not exist");
        }

        IndexFile.EnsureWritable(indexPath);

        // An existing index decides the preset and precision unless the command line says otherwise.
        // OpenOrCreateAsync: an old single-file index is upgraded in place (kept as .v1-backup), so this run commits to it.
        var found = File.Exists(indexPath) ? await EmbeddedVectorStore.ReadInfoAsync(indexPath, cancellationToken).ConfigureAwait(false) : null;
        // An index searched in two stages keeps its vectors in the file: indexing more does not load them either.
        var existing = found is null ? null : await EmbeddedVectorStore.OpenOrCreateAsync(indexPath, found.Dimension, found.ModelId, TwoStageSetting.OpenOptions(found), cancellationToken).ConfigureAwait(false);
        await using var existingScope = existing;
        var settings = existing is null ? null : IndexSettings.From(existing);
        var options = model.Read(parseResult, settings?.WeightsPath, settings?.Preset, settings?.Precision);
        var properties = existing?.Properties.AsReadOnly();
        var modelName = selection.Resolve(parseResult, indexPath, properties);
        var loaded = await selection.LoadAsync(modelName, parseResult, model, options, properties, json ? null : new DownloadProgress(), cancellationToken).ConfigureAwait(false);
        using var extractor = loaded.Extractor;
        await using var created = existing is null
            ? await EmbeddedVectorStore.OpenOrCreateAsync(indexPath, extractor.Dimension, extractor.ModelId, new EmbeddedVectorStoreOptions { Precision = storePrecision }, cancellationToken).ConfigureAwait(false)
            : null;
        var store = existing ?? created!;
        var indexer = new FolderIndexer(extractor, store);
        if (loaded.Preset is { } preset)
        {
            store.Properties[IndexProperties.Preset] = preset;
        }

        loaded.Record(store.Properties);
        var root = Path.GetFullPath(folder);
        var folders = (store.Properties.TryGetValue(IndexProperties.Folders, out var f) ? f.Split('\n', StringSplitOptions.RemoveEmptyEntries) : []).ToHashSet(StringComparer.Ordinal);
        folders.Add(root);
        store.Properties[IndexProperties.Folders] = string.Join('\n', folders.Order(StringComparer.Ordinal));

        var lines = new LineProgress();
        FolderIndexResult result;
        try
        {
            result = await IndexAsync(indexer, root, folderOptions, json || Console.IsOutputRedirected, lines, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex)
        {
            // FolderIndexer saved the store before rethrowing: say what the index holds now.
            var kept = await store.CountAsync(CancellationToken.None).ConfigureAwait(false);
            throw new CommandCancelledException(
                string.Create(CultureInfo.InvariantCulture, $"kept {kept} images in '{indexPath}' ({lines.Last?.Indexed ?? 0} extracted in this run were saved); run the same command again to resume"),
                ex);
        }

        if (twoStage is not null)
        {
            await twoStage.ApplyAsync(store, json, cancellationToken).ConfigureAwait(false);
        }

        if (json)
        {
            WriteJson(result, indexPath, loaded, store.TwoStageCandidates);
        }
        else
        {
            WriteTable(result, indexPath, loaded, store.TwoStageCandidates);
        }

        return 0;
    }

    private static async Task<FolderIndexResult> IndexAsync(FolderIndexer indexer, string root, FolderIndexOptions folderOptions, bool plain, LineProgress lines, CancellationToken cancellationToken)
    {
        FolderIndexResult result;
        if (plain)
        {
            // No progress bar: a line on stderr now and then, so logs (and a watching process) see the run advance.
            lines.Print = true;
            result = await indexer.IndexAsync(root, folderOptions, lines, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            result = await AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask("scanning", maxValue: 1);
                    var progress = new Progress<IndexingProgress>(p =>
                    {
                        lines.Report(p);
                        task.MaxValue = Math.Max(1, p.FilesTotal);
                        task.Value = p.FilesDone;
                        task.Description = string.Create(CultureInfo.InvariantCulture, $"{p.FilesDone}/{p.FilesTotal} files, {p.ImagesPerSecond:F1} img/s, {p.Failed + p.Skipped} problems");
                    });
                    var r = await indexer.IndexAsync(root, folderOptions, progress, cancellationToken).ConfigureAwait(false);
                    task.Value = task.MaxValue;
                    return r;
                }).ConfigureAwait(false);
        }

        return result;
    }

    /// <summary>Keeps the latest progress; when <see cref="Print"/> is set, writes a line to stderr for the first image and then every two seconds.</summary>
    private sealed class LineProgress : IProgress<IndexingProgress>
    {
        private readonly System.Diagnostics.Stopwatch _sinceLine = new();

        public bool Print { get; set; }

        public IndexingProgress? Last { get; private set; }

        public void Report(IndexingProgress value)
        {
            lock (_sinceLine)
            {
                Last = value;
                if (!Print || value.Indexed == 0 || (_sinceLine.IsRunning && _sinceLine.Elapsed < TimeSpan.FromSeconds(2)))
                {
                    return;
                }

                _sinceLine.Restart();
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"progress: {value.FilesDone}/{value.FilesTotal} files, {value.Indexed} indexed, {value.ImagesPerSecond:F1} img/s"));
            }
        }
    }

    private static void WriteTable(FolderIndexResult result, string indexPath, ModelSelection.Loaded loaded, int? twoStageCandidates)
    {
        var table = new Table().AddColumns("outcome", "files");
        table.AddRow("indexed", result.Indexed.ToString(CultureInfo.InvariantCulture));
        table.AddRow("unchanged", result.Unchanged.ToString(CultureInfo.InvariantCulture));
        table.AddRow("failed", result.Failed.ToString(CultureInfo.InvariantCulture));
        table.AddRow("skipped (not images)", result.Skipped.ToString(CultureInfo.InvariantCulture));
        table.AddRow("removed (gone)", result.Removed.ToString(CultureInfo.InvariantCulture));
        table.AddRow("seconds", result.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture));
        table.AddRow("images/s", result.ImagesPerSecond.ToString("F2", CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
        foreach (var problem in result.Files.Where(x => x.Outcome is FileIndexOutcome.Failed or FileIndexOutcome.Skipped))
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]{problem.Outcome.ToString().ToLowerInvariant()}[/] {problem.Id}: {problem.Reason}");
        }

        AnsiConsole.MarkupLineInterpolated($"index: {indexPath}");
        AnsiConsole.MarkupLineInterpolated($"model: {loaded.Extractor.ModelId} ({(loaded.Preset is { } preset ? $"preset {preset}, weights {loaded.WeightsPath}" : loaded.Model)}, {loaded.Engine} {loaded.Precision})");
        AnsiConsole.MarkupLineInterpolated($"search: {TwoStageSetting.Describe(twoStageCandidates)}");
    }

    private static void WriteJson(FolderIndexResult result, string indexPath, ModelSelection.Loaded loaded, int? twoStageCandidates)
    {
        JsonOutput.Write(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("folder", result.Folder);
            writer.WriteString("index", Path.GetFullPath(indexPath));
            writer.WriteString("model", loaded.Extractor.ModelId);
            writer.WriteString("preset", loaded.Preset);
            writer.WriteNumber("files", result.Files.Count(x => x.Outcome != FileIndexOutcome.Removed));
            writer.WriteNumber("indexed", result.Indexed);
            writer.WriteNumber("unchanged", result.Unchanged);
            writer.WriteNumber("failed", result.Failed);
            writer.WriteNumber("skipped", result.Skipped);
            writer.WriteNumber("removed", result.Removed);
            writer.WriteNumber("seconds", Math.Round(result.Elapsed.TotalSeconds, 3));
            writer.WriteNumber("extractionSeconds", Math.Round(result.ExtractionTime.TotalSeconds, 3));
            writer.WriteNumber("imagesPerSecond", Math.Round(result.ImagesPerSecond, 3));
            TwoStageSetting.WriteJson(writer, twoStageCandidates);
            writer.WriteStartArray("failures");
            foreach (var problem in result.Files.Where(x => x.Outcome is FileIndexOutcome.Failed or FileIndexOutcome.Skipped))
            {
                writer.WriteStartObject();
                writer.WriteString("file", problem.Path);
                writer.WriteString("outcome", problem.Outcome.ToString().ToLowerInvariant());
                writer.WriteString("reason", problem.Reason);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });
    }
}
