using ImageSimilarity.Extraction;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>The engine and precision picked for VGG16, and why.</summary>
/// <param name="Engine">The engine.</param>
/// <param name="Precision">The compute precision.</param>
/// <param name="Reason">Why: the CPU, its relevant features and the rule applied (for logs and <c>info</c>).</param>
public sealed record Vgg16EngineChoice(Vgg16Engine Engine, ComputePrecision Precision, string Reason);
