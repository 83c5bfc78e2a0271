using ImageSimilarity.Extraction;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>The engine and precision picked for VGG16, and why.</summary>
/// <param name="Engine">The engine.</param>
/// <param name="Precision">The compute precision.</param>
/// <param name="Reason">Why: the CPU, and the measurement or rule applied (for logs, the CLI and <c>info</c>).</param>
public sealed record Vgg16EngineChoice(Vgg16Engine Engine, ComputePrecision Precision, string Reason)
{
    /// <summary>Gets where the choice came from. Default <see cref="Vgg16ChoiceSource.Fixed"/>.</summary>
    public Vgg16ChoiceSource Source { get; init; }

    /// <summary>Gets the measured speeds the choice was made from (measured now or cached); empty for a rule or a fixed choice.</summary>
    public IReadOnlyList<Vgg16EngineMeasurement> Measurements { get; init; } = [];

    /// <summary>Gets the cache file read or written, when the choice was measured or cached.</summary>
    public string? CacheFile { get; init; }

    /// <summary>Gets a problem met on the way (a corrupt cache file that was ignored and rewritten), or <see langword="null"/>.</summary>
    public string? Warning { get; init; }
}
