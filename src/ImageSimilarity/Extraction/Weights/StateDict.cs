namespace ImageSimilarity.Extraction.Weights;

/// <summary>The tensors of a weights file by name, in file order, plus what keeps the file open while they are read.</summary>
internal sealed class StateDict : IDisposable
{
    private readonly IDisposable? _owner;

    public StateDict(string filePath, string format, IReadOnlyList<WeightTensor> tensors, IDisposable? owner)
    {
        FilePath = filePath;
        Format = format;
        Tensors = tensors;
        _owner = owner;
        var byName = new Dictionary<string, WeightTensor>(StringComparer.Ordinal);
        foreach (var t in tensors)
        {
            byName[t.Name] = t;
        }

        ByName = byName;
    }

    public string FilePath { get; }

    /// <summary>Gets the file format, e.g. "PyTorch zip", "PyTorch legacy", "safetensors".</summary>
    public string Format { get; }

    public IReadOnlyList<WeightTensor> Tensors { get; }

    public IReadOnlyDictionary<string, WeightTensor> ByName { get; }

    public void Dispose() => _owner?.Dispose();
}
