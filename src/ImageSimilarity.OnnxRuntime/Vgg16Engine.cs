namespace ImageSimilarity.OnnxRuntime;

/// <summary>What runs VGG16.</summary>
public enum Vgg16Engine
{
    /// <summary>TorchSharp (libtorch): fp32 or bf16 (<see cref="ImageSimilarity.Extraction.Vgg16FeatureExtractor"/>).</summary>
    TorchSharp = 0,

    /// <summary>ONNX Runtime with the graph built in C# from the same weights: fp32 (<see cref="Vgg16OnnxModel"/>).</summary>
    OnnxRuntime = 1,
}
