using System.CommandLine;
using ImageSimilarity.Storage;

namespace SearchByImage;

/// <summary><c>--store-precision fp32|half|int8</c> of <c>index</c> and <c>evaluate</c>: how a new index keeps its vectors.</summary>
internal static class StorePrecisionOption
{
    public static Option<string> Create()
    {
        var option = new Option<string>("--store-precision")
        {
            Description = "How a new index keeps vectors: fp32, half (half the memory and disk), or int8 (a quarter; recall@10 about 0.99 against fp32, see docs/storage.md). An existing index keeps its own.",
            DefaultValueFactory = _ => "fp32",
        };
        option.AcceptOnlyFromAmong("fp32", "half", "int8");
        return option;
    }

    /// <summary>Reads a value the option accepted.</summary>
    public static VectorPrecision Parse(string name) => name switch
    {
        "half" => VectorPrecision.Half,
        "int8" => VectorPrecision.Int8,
        _ => VectorPrecision.Single,
    };
}
