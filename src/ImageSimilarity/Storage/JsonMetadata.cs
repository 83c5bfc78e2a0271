using System.Collections;
using System.Collections.ObjectModel;
using System.Diagnostics.CodeAnalysis;

namespace ImageSimilarity.Storage;

/// <summary>
/// A record's metadata as read from the index file: the JSON text (its UTF-8 bytes), parsed the first time it is looked
/// at. Opening an index of 100,000 records then costs no dictionary (and no UTF-16 string) per record; searches parse only the metadata of their results
/// (and of rows a metadata filter checks).
/// </summary>
/// <remarks>Thread-safe: concurrent first reads may both parse, and one result wins.</remarks>
internal sealed class JsonMetadata : IReadOnlyDictionary<string, string>
{
    private readonly byte[] _json;
    private readonly string _path;
    private readonly string _id;
    private ReadOnlyDictionary<string, string>? _parsed;

    public JsonMetadata(byte[] json, string path, string id)
    {
        _json = json;
        _path = path;
        _id = id;
    }

    /// <summary>Gets the parsed metadata as a read-only dictionary.</summary>
    /// <exception cref="IndexFileException">The JSON is not an object of strings (the file was edited or damaged).</exception>
    public ReadOnlyDictionary<string, string> Parsed => _parsed ?? Parse();

    public int Count => Parsed.Count;

    public IEnumerable<string> Keys => Parsed.Keys;

    public IEnumerable<string> Values => Parsed.Values;

    public string this[string key] => Parsed[key];

    /// <summary>A cheap structural check done when the row is loaded; the full check happens on first use.</summary>
    public static bool LooksLikeObject(ReadOnlySpan<byte> json) => json.Length >= 2 && json[0] == (byte)'{' && json[^1] == (byte)'}';

    public bool ContainsKey(string key) => Parsed.ContainsKey(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string value) => Parsed.TryGetValue(key, out value);

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => Parsed.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private ReadOnlyDictionary<string, string> Parse()
    {
        var dictionary = SqliteIndex.ParseMetadata(_json)
            ?? throw new IndexFileException(_path, $"the metadata of record '{_id}' is not a JSON object of strings.");
        var parsed = new ReadOnlyDictionary<string, string>(dictionary);
        Interlocked.CompareExchange(ref _parsed, parsed, null);
        return _parsed!;
    }
}
