namespace ImageSimilarity.Extraction.Weights;

/// <summary>The element types a weights file can declare for a tensor.</summary>
internal enum WeightDType
{
    Float32,
    Float64,
    Float16,
    BFloat16,
    Int64,
    Int32,
    Int16,
    Int8,
    UInt8,
    Bool,
}
