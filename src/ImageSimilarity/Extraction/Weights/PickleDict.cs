namespace ImageSimilarity.Extraction.Weights;

/// <summary>A pickled dict or OrderedDict, in insertion order.</summary>
internal sealed class PickleDict
{
    // The index keeps SETITEMS linear even for a crafted file with many keys (values compare like Python's for
    // str/int/float/bool; tuples by reference, which only makes equal tuples distinct keys).
    private readonly Dictionary<object, int> _index = [];
    private int _nullKey = -1;

    public List<KeyValuePair<object?, object?>> Items { get; } = [];

    /// <summary>Gets or sets the state set by BUILD (torch's <c>_metadata</c>); kept, never interpreted.</summary>
    public PickleDict? State { get; set; }

    public void Add(object? key, object? value)
    {
        var i = key is null ? _nullKey : _index.TryGetValue(key, out var at) ? at : -1;
        if (i >= 0)
        {
            Items[i] = new(key, value);
        }
        else
        {
            if (key is null)
            {
                _nullKey = Items.Count;
            }
            else
            {
                _index[key] = Items.Count;
            }

            Items.Add(new(key, value));
        }
    }

    public object? this[string key] => _index.TryGetValue(key, out var at) ? Items[at].Value : null;
}
