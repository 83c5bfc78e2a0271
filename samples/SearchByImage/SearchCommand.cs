using System.CommandLine;
using System.Globalization;
using ImageSimilarity.Imaging;
using ImageSimilarity.Search;
using ImageSimilarity.Storage;
using SearchByImage.Postgres;
using SearchByImage.Rendering;
using Spectre.Console;

namespace SearchByImage;

/// <summary><c>search &lt;image&gt;</c>: the indexed images most similar to a query image, best first.</summary>
internal static class SearchCommand
{
    public static Command Create()
    {
        var image = new Argument<string?>("image") { Description = "The query image.", Arity = ArgumentArity.ZeroOrOne };
        var id = new Option<string?>("--id") { Description = "Search with the stored vector of this indexed image instead of a query file (no model needed)." };
        var index = new Option<string?>("--index") { Description = $"Index file. Default: ${CliDefaults.IndexEnvironmentVariable}, else {CliDefaults.IndexPath}." };
        var model = new ModelOptions(presetAndPrecisionFromIndex: true);
        var selection = new ModelSelection(fromIndex: true);
        var top = new Option<int>("--top", "-k") { Description = "How many matches.", DefaultValueFactory = _ => 9 };
        CliValidation.AtLeastOne(top);
        var minScore = new Option<float?>("--min-score") { Description = "Leave out matches with a cosine similarity below this (-1 to 1)." };
        CliValidation.Between(minScore, -1f, 1f);
        var excludeSelf = new Option<bool>("--exclude-self") { Description = "Leave the query image itself out of the results when it is in the index." };
        var json = new Option<bool>("--json") { Description = "Print the results as JSON." };
        var sheet = new Option<string?>("--sheet") { Description = "Also draw the query and the matches as a grid picture (PNG) at this path." };
        var html = new Option<string?>("--html") { Description = "Also write a self-contained HTML page with thumbnails at this path." };
        var exact = new Option<bool>("--exact") { Description = "Compare the query with every stored vector, even when the index searches in two stages (index --two-stage)." };
        var candidates = new Option<int?>("--candidates") { Description = "Search in two stages with this many candidates re-ranked exactly (the index needs binary codes: index --two-stage N). Default: the index's setting." };
        CliValidation.AtLeastOne(candidates);

        var command = new Command("search", "Find the indexed images most similar to a query image.")
        {
            image, id, index, top, minScore, excludeSelf, exact, candidates, json, sheet, html,
        };
        command.Validators.Add(r =>
        {
            if ((r.GetValue(image) is null) == (r.GetValue(id) is null))
            {
                r.AddError("Give either a query image or --id <indexed image id>.");
            }

            if (r.GetValue(exact) && r.GetValue(candidates) is not null)
            {
                r.AddError("Give --exact or --candidates, not both.");
            }
        });
        model.AddTo(command);
        selection.AddTo(command);
        var stores = new PostgresStoreOptions();
        var postgres = new PostgresSearch();
        stores.AddTo(command);
        postgres.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => CommandErrors.RunAsync(() => stores.IsPostgres(parseResult)
            ? postgres.RunAsync(parseResult, stores, model, selection, parseResult.GetValue(image), parseResult.GetValue(id), parseResult.GetValue(top), parseResult.GetValue(minScore), parseResult.GetValue(excludeSelf), parseResult.GetValue(json), parseResult.GetValue(sheet), parseResult.GetValue(html), cancellationToken)
            : RunAsync(parseResult, model, selection, new Request(
            parseResult.GetValue(image),
            parseResult.GetValue(id),
            parseResult.GetValue(index) ?? CliDefaults.IndexPath,
            parseResult.GetValue(top),
            parseResult.GetValue(minScore),
            parseResult.GetValue(excludeSelf),
            parseResult.GetValue(json),
            parseResult.GetValue(sheet),
            parseResult.GetValue(html),
            parseResult.GetValue(exact),
            parseResult.GetValue(candidates)), cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parseResult, ModelOptions model, ModelSelection selection, Request request, CancellationToken cancellationToken)
    {
        if (request.Image is not null && !File.Exists(request.Image))
        {
            throw new IOException($"query image '{request.Image}' does not exist");
        }

        IndexFile.EnsureNotDirectory(request.Index);
        if (!File.Exists(request.Index))
        {
            throw new IOException(CliDefaults.LegacyHint(request.Index) is { } hint
                ? $"index '{request.Index}' does not exist; {hint}"
                : $"index '{request.Index}' does not exist: build it first with 'index <folder>' (or pass --index)");
        }

        // An index searched in two stages is opened without loading its vectors: only the candidates' are read.
        var info = await EmbeddedVectorStore.ReadInfoAsync(request.Index, cancellationToken).ConfigureAwait(false);
        await using var store = await EmbeddedVectorStore.OpenAsync(request.Index, TwoStageSetting.OpenOptions(info), cancellationToken).ConfigureAwait(false);
        if (request.Candidates is not null && !store.HasBinaryCodes)
        {
            throw new ArgumentException($"index '{request.Index}' has no binary codes for --candidates: build them with 'index <folder> --index {request.Index} --two-stage N', or leave --candidates out");
        }

        var searchOptions = new SearchOptions
        {
            Store = new VectorSearchOptions { Top = request.Top, MinSimilarity = request.MinScore, Exact = request.Exact, Candidates = request.Candidates },
            ExcludeQuery = request.ExcludeSelf,
        };
        IReadOnlyList<VectorSearchResult> results;
        string queryPath;
        if (request.Id is not null)
        {
            var stored = await store.GetAsync(request.Id, cancellationToken).ConfigureAwait(false)
                ?? throw new ArgumentException($"index '{request.Index}' has no image with id '{request.Id}' (ids are paths relative to the indexed folder)");
            queryPath = stored.Metadata.GetValueOrDefault(RecordMetadata.Path) ?? request.Id;
            var storeOptions = new VectorSearchOptions
            {
                Top = request.Top,
                MinSimilarity = request.MinScore,
                ExcludeIds = request.ExcludeSelf ? new HashSet<string>(StringComparer.Ordinal) { request.Id } : null,
                Exact = request.Exact,
                Candidates = request.Candidates,
            };
            results = await store.SearchAsync(stored.Vector, storeOptions, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            queryPath = request.Image!;
            var settings = IndexSettings.From(store);
            var options = model.Read(parseResult, settings.WeightsPath, settings.Preset, settings.Precision);
            var properties = store.Properties.AsReadOnly();
            var loaded = await selection.LoadAsync(selection.Resolve(parseResult, request.Index, properties), parseResult, model, options, properties, request.Json ? null : new DownloadProgress(), cancellationToken).ConfigureAwait(false);
            using var extractor = loaded.Extractor;
            var searcher = new SimilaritySearcher(extractor, store);
            results = await searcher.SearchAsync(ImageInput.FromFile(queryPath), searchOptions, cancellationToken).ConfigureAwait(false);
        }

        var hits = SearchHit.From(results);

        if (request.Json)
        {
            WriteJson(request, store, hits);
        }
        else
        {
            SearchHit.WriteTable(hits);
            if (hits.Count == 0)
            {
                AnsiConsole.MarkupLine("[yellow]no matches[/] (empty index, or --min-score too high)");
            }
        }

        var description = string.Create(CultureInfo.InvariantCulture, $"{store.Count} images in {Path.GetFullPath(request.Index)}, model {store.ModelId}");
        if (request.Sheet is not null)
        {
            ResultSheet.Write(request.Sheet, queryPath, hits);
            Console.Error.WriteLine($"sheet: {Path.GetFullPath(request.Sheet)}");
        }

        if (request.Html is not null)
        {
            HtmlReport.Write(request.Html, queryPath, hits, description);
            Console.Error.WriteLine($"html: {Path.GetFullPath(request.Html)}");
        }

        return 0;
    }

    private static void WriteJson(Request request, EmbeddedVectorStore store, List<SearchHit> hits)
    {
        JsonOutput.Write(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("query", request.Image is null ? request.Id : Path.GetFullPath(request.Image));
            writer.WriteString("index", Path.GetFullPath(request.Index));
            writer.WriteString("model", store.ModelId);
            writer.WriteString("mode", request.Exact || (request.Candidates ?? store.TwoStageCandidates) is null ? "exact" : "two-stage");
            if (!request.Exact && (request.Candidates ?? store.TwoStageCandidates) is { } n)
            {
                writer.WriteNumber("candidates", n);
            }

            SearchHit.WriteJson(writer, hits);
            writer.WriteEndObject();
        });
    }

    private sealed record Request(string? Image, string? Id, string Index, int Top, float? MinScore, bool ExcludeSelf, bool Json, string? Sheet, string? Html, bool Exact, int? Candidates);
}
