using System.Globalization;
using System.Text.Json;
using ImageSimilarity.Storage;
using Spectre.Console;

namespace SearchByImage.Rendering;

/// <summary>One ranked match, as the renderers show it.</summary>
internal sealed record SearchHit(int Rank, string Id, string? Path, float Similarity)
{
    /// <summary>Ranks a store's results (1 for the best), with the indexed file path of each.</summary>
    public static List<SearchHit> From(IReadOnlyList<VectorSearchResult> results) =>
        results.Select((r, i) => new SearchHit(i + 1, r.Id, r.Metadata.GetValueOrDefault(RecordMetadata.Path), r.Similarity)).ToList();

    /// <summary>Writes the hits as the JSON array <c>results</c> of the object being written.</summary>
    public static void WriteJson(Utf8JsonWriter writer, IReadOnlyList<SearchHit> hits)
    {
        writer.WriteStartArray("results");
        foreach (var hit in hits)
        {
            writer.WriteStartObject();
            writer.WriteNumber("rank", hit.Rank);
            writer.WriteString("id", hit.Id);
            writer.WriteString("path", hit.Path);
            writer.WriteNumber("similarity", hit.Similarity);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    /// <summary>Writes the hits as a console table (rank, similarity, path or id).</summary>
    public static void WriteTable(IReadOnlyList<SearchHit> hits)
    {
        var table = new Table().AddColumns("#", "similarity", "image");
        foreach (var hit in hits)
        {
            table.AddRow(hit.Rank.ToString(CultureInfo.InvariantCulture), hit.Similarity.ToString("F4", CultureInfo.InvariantCulture), Markup.Escape(hit.Path ?? hit.Id));
        }

        AnsiConsole.Write(table);
    }
}
