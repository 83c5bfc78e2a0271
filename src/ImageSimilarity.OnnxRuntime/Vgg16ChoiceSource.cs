namespace ImageSimilarity.OnnxRuntime;

/// <summary>Where a <see cref="Vgg16EngineChoice"/> came from.</summary>
public enum Vgg16ChoiceSource
{
    /// <summary>The caller fixed both the engine and the precision (or only one candidate was left).</summary>
    Fixed = 0,

    /// <summary>The CPU rule (measuring was disabled): bf16 with AMX or AMD AVX512_BF16, else fp32 on ONNX Runtime.</summary>
    Rule = 1,

    /// <summary>A short timed run of every candidate, made now; the result was written to the cache.</summary>
    Measured = 2,

    /// <summary>The measurement cached for this CPU model by an earlier run.</summary>
    Cached = 3,
}
