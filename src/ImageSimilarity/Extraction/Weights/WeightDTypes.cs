namespace ImageSimilarity.Extraction.Weights;

/// <summary>Sizes and names of <see cref="WeightDType"/> values.</summary>
internal static class WeightDTypes
{
    public static int SizeOf(WeightDType type) => type switch
    {
        WeightDType.Float64 or WeightDType.Int64 => 8,
        WeightDType.Float32 or WeightDType.Int32 => 4,
        WeightDType.Float16 or WeightDType.BFloat16 or WeightDType.Int16 => 2,
        _ => 1,
    };

    public static bool IsFloatingPoint(WeightDType type)
        => type is WeightDType.Float32 or WeightDType.Float64 or WeightDType.Float16 or WeightDType.BFloat16;

    public static string Name(WeightDType type) => type switch
    {
        WeightDType.Float32 => "float32",
        WeightDType.Float64 => "float64",
        WeightDType.Float16 => "float16",
        WeightDType.BFloat16 => "bfloat16",
        WeightDType.Int64 => "int64",
        WeightDType.Int32 => "int32",
        WeightDType.Int16 => "int16",
        WeightDType.Int8 => "int8",
        WeightDType.UInt8 => "uint8",
        _ => "bool",
    };

    /// <summary>Maps a pickled torch storage class name (e.g. <c>FloatStorage</c>) to its element type.</summary>
    public static WeightDType? FromTorchStorage(string name) => name switch
    {
        "FloatStorage" => WeightDType.Float32,
        "DoubleStorage" => WeightDType.Float64,
        "HalfStorage" => WeightDType.Float16,
        "BFloat16Storage" => WeightDType.BFloat16,
        "LongStorage" => WeightDType.Int64,
        "IntStorage" => WeightDType.Int32,
        "ShortStorage" => WeightDType.Int16,
        "CharStorage" => WeightDType.Int8,
        "ByteStorage" => WeightDType.UInt8,
        "BoolStorage" => WeightDType.Bool,
        _ => null,
    };

    /// <summary>Maps a safetensors dtype string (e.g. <c>F32</c>) to its element type.</summary>
    public static WeightDType? FromSafetensors(string name) => name switch
    {
        "F32" => WeightDType.Float32,
        "F64" => WeightDType.Float64,
        "F16" => WeightDType.Float16,
        "BF16" => WeightDType.BFloat16,
        "I64" => WeightDType.Int64,
        "I32" => WeightDType.Int32,
        "I16" => WeightDType.Int16,
        "I8" => WeightDType.Int8,
        "U8" => WeightDType.UInt8,
        "BOOL" => WeightDType.Bool,
        _ => null,
    };
}
