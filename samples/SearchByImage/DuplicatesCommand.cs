using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text;
using ImageSimilarity.Duplicates;
using ImageSimilarity.PgVector;
using ImageSimilarity.Storage;
using SearchByImage.Postgres;
using SearchByImage.Rendering;
using SkiaSharp;
using Spectre.Console;

namespace SearchByImage;

/// <summary><c>duplicates</c>: groups of near-identical images in an index, with a suggested keeper each.</summary>
internal static class DuplicatesCommand
{
    public static Command Create()
    {
        var index = new Option<string?>("--index") { Description = $"Index file. Default: ${CliDefaults.IndexEnvironmentVariable}, else {CliDefaults.IndexPath}." };
        var threshold = new Option<float?>("--threshold")
        {
            Description = string.Create(CultureInfo.InvariantCulture, $"Cosine similarity at or above which two images are near-duplicates (0-1]. Default: measured per model, {DuplicateFinderOptions.DefaultResNet18Threshold} for resnet18, {DuplicateFinderOptions.DefaultThreshold} for vgg16 and others."),
        };
        threshold.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<float?>() is { } t && t is not (> 0f and <= 1f))
            {
                r.AddError("--threshold must be above 0 and at most 1.");
            }
        });
        var json = new Option<bool>("--json") { Description = "Print the groups as JSON." };
        var html = new Option<string?>("--html") { Description = "Also write an HTML report with each group's thumbnails side by side, sizes and scores." };
        var chains = new Option<bool>("--chains") { Description = "Group plain chains of links (single linkage) instead of requiring every member to be above the threshold to its group's keeper." };
        var command = new Command("duplicates", "Find groups of near-identical images (resized, recompressed, cropped, brightened, mirrored, rotated copies) in an index and suggest which to keep.")
        {
            index, threshold, chains, json, html,
        };
        var stores = new PostgresStoreOptions();
        stores.AddTo(command);
        command.Validators.Add(r =>
        {
            if (r.GetValue(json) && r.GetValue(html) is not null)
            {
                r.AddError("use either --json or --html.");
            }
        });
        command.SetAction((parseResult, cancellationToken) => CommandErrors.RunAsync(async () =>
        {
            var finder = new DuplicateFinderOptions { Threshold = parseResult.GetValue(threshold), RequireSimilarityToKeeper = !parseResult.GetValue(chains) };
            if (stores.IsPostgres(parseResult))
            {
                return await PostgresStoreOptions.RunAsync(async () =>
                {
                    await using var dataSource = stores.OpenDataSource(parseResult);
                    await using var pg = await PgVectorStore.OpenExistingAsync(dataSource, stores.StoreOptions(parseResult), cancellationToken).ConfigureAwait(false);
                    return await RunAsync(pg, $"postgres table {pg.TableName}", finder, parseResult.GetValue(json), parseResult.GetValue(html), cancellationToken).ConfigureAwait(false);
                }).ConfigureAwait(false);
            }

            var indexPath = parseResult.GetValue(index) ?? CliDefaults.IndexPath;
            if (!File.Exists(indexPath))
            {
                throw new IOException($"index '{indexPath}' does not exist: build it with 'index <folder>' (or pass --index)");
            }

            await using var store = await EmbeddedVectorStore.OpenAsync(indexPath, null, cancellationToken).ConfigureAwait(false);
            return await RunAsync(store, Path.GetFullPath(indexPath), finder, parseResult.GetValue(json), parseResult.GetValue(html), cancellationToken).ConfigureAwait(false);
        }));
        return command;
    }

    private static async Task<int> RunAsync(IVectorStore store, string indexName, DuplicateFinderOptions options, bool json, string? html, CancellationToken cancellationToken)
    {
        var threshold = options.Threshold ?? DuplicateFinderOptions.DefaultThresholdFor(store.ModelId);
        IReadOnlyList<DuplicateGroup> groups;
        if (json || Console.IsOutputRedirected)
        {
            groups = await DuplicateFinder.FindAsync(store, options, null, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            groups = await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask("searching", maxValue: 1);
                    var progress = new Progress<DuplicateProgress>(p =>
                    {
                        task.MaxValue = Math.Max(1, p.Total);
                        task.Value = p.Searched;
                        task.Description = string.Create(CultureInfo.InvariantCulture, $"{p.Searched}/{p.Total} images, {p.Links} links");
                    });
                    return await DuplicateFinder.FindAsync(store, options, progress, cancellationToken).ConfigureAwait(false);
                }).ConfigureAwait(false);
        }

        if (json)
        {
            WriteJson(groups, indexName, threshold, store.ModelId);
            return 0;
        }

        if (html is not null)
        {
            await File.WriteAllTextAsync(html, Html(groups, threshold, cancellationToken), cancellationToken).ConfigureAwait(false);
        }

        AnsiConsole.MarkupLineInterpolated($"{groups.Count} groups of near-duplicates (threshold {threshold.ToString("F3", CultureInfo.InvariantCulture)}), {groups.Sum(g => g.Members.Count - 1)} images could go");
        foreach (var group in groups)
        {
            var table = new Table().AddColumns("", "image", "pixels", "bytes", "similarity");
            foreach (var m in group.Members)
            {
                table.AddRow(
                    m == group.Keeper ? "keep" : m.IsExactCopy ? "exact copy" : "",
                    Markup.Escape(m.Path ?? m.Id),
                    $"{m.Width}x{m.Height}",
                    m.Bytes.ToString(CultureInfo.InvariantCulture),
                    m.Similarity.ToString("F4", CultureInfo.InvariantCulture));
            }

            AnsiConsole.Write(table);
        }

        return 0;
    }

    private static void WriteJson(IReadOnlyList<DuplicateGroup> groups, string indexName, float threshold, string modelId)
    {
        JsonOutput.Write(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("index", indexName);
            writer.WriteString("model", modelId);
            writer.WriteNumber("threshold", threshold);
            writer.WriteStartArray("groups");
            foreach (var group in groups)
            {
                writer.WriteStartObject();
                writer.WriteString("keeper", group.Keeper.Id);
                writer.WriteStartArray("members");
                foreach (var m in group.Members)
                {
                    writer.WriteStartObject();
                    writer.WriteString("id", m.Id);
                    writer.WriteString("path", m.Path);
                    writer.WriteNumber("similarity", m.Similarity);
                    writer.WriteNumber("width", m.Width);
                    writer.WriteNumber("height", m.Height);
                    writer.WriteNumber("bytes", m.Bytes);
                    writer.WriteBoolean("exactCopy", m.IsExactCopy);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });
    }

    /// <summary>Longest side of the thumbnails embedded in the HTML report (JPEG data: URIs, so the report works when moved).</summary>
    internal const int ThumbnailSide = 180;

    private static string Html(IReadOnlyList<DuplicateGroup> groups, float threshold, CancellationToken cancellationToken)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Near-duplicates</title><style>")
            .Append("body{font-family:sans-serif} .group{display:flex;gap:12px;margin:16px 0;padding:8px;border-bottom:1px solid #ccc}")
            .Append("figure{margin:0;width:180px} img{max-width:180px;max-height:180px} .keep{outline:3px solid green} .missing{width:180px;height:120px;background:#eee;color:#666;display:flex;align-items:center;justify-content:center}</style></head><body>")
            .Append(CultureInfo.InvariantCulture, $"<h1>{groups.Count} groups of near-duplicates (threshold {threshold:F3})</h1>");
        foreach (var group in groups)
        {
            html.Append("<div class=\"group\">");
            foreach (var m in group.Members)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var link = m.Path is null ? null : new Uri(Path.GetFullPath(m.Path)).AbsoluteUri;
                var label = m == group.Keeper ? "keep" : m.IsExactCopy ? "exact copy" : string.Empty;
                var thumbnail = m.Path is null ? null : Thumbnail(m.Path);
                var image = thumbnail is null
                    ? "<div class=\"missing\">no preview</div>"
                    : $"<img class=\"{(m == group.Keeper ? "keep" : string.Empty)}\" src=\"{thumbnail}\" alt=\"{WebUtility.HtmlEncode(m.Id)}\">";
                var name = link is null ? WebUtility.HtmlEncode(m.Id) : $"<a href=\"{WebUtility.HtmlEncode(link)}\">{WebUtility.HtmlEncode(m.Id)}</a>";
                html.Append(CultureInfo.InvariantCulture, $"<figure>{image}<figcaption><b>{label}</b> {name}<br>{m.Width}x{m.Height}, {m.Bytes:N0} bytes<br>similarity {m.Similarity:F4}</figcaption></figure>");
            }

            html.Append("</div>");
        }

        return html.Append("</body></html>").ToString();
    }

    /// <summary>A JPEG thumbnail (longest side <see cref="ThumbnailSide"/>, EXIF orientation applied, quality 80) as a data: URI, or <see langword="null"/> when the file cannot be read.</summary>
    private static string? Thumbnail(string path)
    {
        using var bitmap = Thumbnails.Load(path, ThumbnailSide);
        if (bitmap is null)
        {
            return null;
        }

        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, 80);
        return data is null ? null : "data:image/jpeg;base64," + Convert.ToBase64String(data.AsSpan());
    }
}
