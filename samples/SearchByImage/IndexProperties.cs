namespace SearchByImage;

/// <summary>The property keys the CLI writes into an index file, so that later commands use the same model settings.</summary>
internal static class IndexProperties
{
    public const string Preset = "preset";
    public const string Precision = "extraction-precision";
    public const string WeightsPath = "weights-path";
    public const string Folders = "folders";
    public const string Model = "model";
    public const string Engine = "engine";
    public const string AutoChoice = "auto-choice";
    public const string OnnxSpec = "onnx-spec";
}
