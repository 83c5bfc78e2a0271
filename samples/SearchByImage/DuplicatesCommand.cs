using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text;
using ImageSimilarity.Duplicates;
using ImageSimilarity.Storage;
using Spectre.Console;

namespace SearchByImage;

/// <summary><c>duplicates</c>: groups of near-identical images in an index, with a suggested keeper each.</summary>
internal static class DuplicatesCommand
{
    public static Command Create()
    {
        var index = new Option<string?>("--index") { Description = $"Index file. Default: ${CliDefaults.IndexEnvironmentVariable}, else {CliDefaults.IndexPath}." };
        var threshold = new Option<float>("--threshold")
        {
            Description = "Cosine similarity at or above which two images are near-duplicates (0-1].",
            DefaultValueFactory = _ => DuplicateFinderOptions.DefaultThreshold,
        };
        threshold.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<float>() is not (> 0f and <= 1f))
            {
                r.AddError("--threshold must be above 0 and at most 1.");
            }
        });
        var json = new Option<bool>("--json") { Description = "Print the groups as JSON." };
        var html = new Option<string?>("--html") { Description = "Also write an HTML report with each group's thumbnails side by side, sizes and scores." };
        var command = new Command("duplicates", "Find groups of near-identical images (resized, recompressed, cropped, brightened, mirrored, rotated copies) in an index and suggest which to keep.")
        {
            index, threshold, json, html,
        };
        command.Validators.Add(r =>
        {
            if (r.GetValue(json) && r.GetValue(html) is not null)
            {
                r.AddError("use either --json or --html.");
            }
        });
        command.SetAction((parseResult, cancellationToken) => CommandErrors.RunAsync(() => RunAsync(
            parseResult.GetValue(index) ?? CliDefaults.IndexPath,
            parseResult.GetValue(threshold),
            parseResult.GetValue(json),
            parseResult.GetValue(html),
            cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(string indexPath, float threshold, bool json, string? html, CancellationToken cancellationToken)
    {
        if (!File.Exists(indexPath))
        {
            throw new IOException($"index '{indexPath}' does not exist: build it with 'index <folder>' (or pass --index)");
        }

        await using var store = await EmbeddedVectorStore.OpenAsync(indexPath, null, cancellationToken).ConfigureAwait(false);
        var options = new DuplicateFinderOptions { Threshold = threshold };
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
            WriteJson(groups, indexPath, threshold);
            return 0;
        }

        if (html is not null)
        {
            await File.WriteAllTextAsync(html, Html(groups, threshold), cancellationToken).ConfigureAwait(false);
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

    private static void WriteJson(IReadOnlyList<DuplicateGroup> groups, string indexPath, float threshold)
    {
        JsonOutput.Write(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("index", Path.GetFullPath(indexPath));
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

    private static string Html(IReadOnlyList<DuplicateGroup> groups, float threshold)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Near-duplicates</title><style>")
            .Append("body{font-family:sans-serif} .group{display:flex;gap:12px;margin:16px 0;padding:8px;border-bottom:1px solid #ccc}")
            .Append("figure{margin:0;width:180px} img{max-width:180px;max-height:180px} .keep{outline:3px solid green}</style></head><body>")
            .Append(CultureInfo.InvariantCulture, $"<h1>{groups.Count} groups of near-duplicates (threshold {threshold:F3})</h1>");
        foreach (var group in groups)
        {
            html.Append("<div class=\"group\">");
            foreach (var m in group.Members)
            {
                var src = m.Path is null ? string.Empty : new Uri(Path.GetFullPath(m.Path)).AbsoluteUri;
                var label = m == group.Keeper ? "keep" : m.IsExactCopy ? "exact copy" : string.Empty;
                html.Append(CultureInfo.InvariantCulture, $"<figure><img class=\"{(m == group.Keeper ? "keep" : string.Empty)}\" src=\"{WebUtility.HtmlEncode(src)}\" alt=\"\"><figcaption><b>{label}</b> {WebUtility.HtmlEncode(m.Id)}<br>{m.Width}x{m.Height}, {m.Bytes:N0} bytes<br>similarity {m.Similarity:F4}</figcaption></figure>");
            }

            html.Append("</div>");
        }

        return html.Append("</body></html>").ToString();
    }
}
