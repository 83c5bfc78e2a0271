using ImageSimilarity.Extraction;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>How fast one engine and precision ran VGG16 in the "auto" measurement.</summary>
/// <param name="Engine">The engine.</param>
/// <param name="Precision">The compute precision.</param>
/// <param name="ImagesPerSecond">Images per second on the measurement's small batch (model only, inputs in memory).</param>
public sealed record Vgg16EngineMeasurement(Vgg16Engine Engine, ComputePrecision Precision, double ImagesPerSecond);
