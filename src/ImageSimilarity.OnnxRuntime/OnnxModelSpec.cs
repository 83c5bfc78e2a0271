using System.Globalization;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>
/// Describes an ONNX image model: which input and output to use, how an image becomes the input tensor and how the
/// output becomes a feature vector. The defaults describe a torchvision-style ImageNet model exported from PyTorch
/// (resize the shorter side to 256, centre crop 224, RGB scaled to [0,1], ImageNet mean/std, NCHW, output flattened).
/// </summary>
/// <remarks>
/// <para>Each input value is <c>(pixel / PixelScale - Mean[c] - MeanImage[c, y, x]) / Std[c]</c>, where pixel is the
/// 0-255 value of channel c (in <see cref="ChannelOrder"/>) after the resize and crop, and the mean image is absent
/// unless given.</para>
/// <para>Immutable once built; <see cref="Validate"/> runs when the spec is handed to <see cref="OnnxFeatureExtractor"/>.</para>
/// </remarks>
public sealed class OnnxModelSpec
{
    /// <summary>Gets a short name of the model for its <see cref="OnnxFeatureExtractor.ModelId"/> (letters, digits, '-', '_', '.'); default "onnx".</summary>
    public string Name { get; init; } = "onnx";

    /// <summary>Gets the name of the image input; <see langword="null"/> (default) uses the model's only input.</summary>
    public string? InputName { get; init; }

    /// <summary>Gets the name of the output that holds the features; <see langword="null"/> (default) uses the first output.</summary>
    public string? OutputName { get; init; }

    /// <summary>Gets the side of the square network input in pixels; default 224.</summary>
    public int InputSize { get; init; } = 224;

    /// <summary>
    /// Gets the size the shorter side is resized to before the centre crop of <see cref="InputSize"/> (Pillow's bilinear
    /// resize with antialias, as torchvision's <c>Resize(256)</c> + <c>CenterCrop(224)</c>); default 256.
    /// <see langword="null"/> resizes the whole image to <see cref="InputSize"/> x <see cref="InputSize"/> instead.
    /// </summary>
    public int? ResizeShorterSide { get; init; } = 256;

    /// <summary>Gets the input layout; default <see cref="TensorLayout.Nchw"/>.</summary>
    public TensorLayout Layout { get; init; } = TensorLayout.Nchw;

    /// <summary>Gets the channel order of the input; default <see cref="ChannelOrder.Rgb"/>.</summary>
    public ChannelOrder ChannelOrder { get; init; } = ChannelOrder.Rgb;

    /// <summary>Gets the divisor applied to 0-255 pixel values first: 255 (default) for [0,1] inputs, 1 for 0-255 inputs.</summary>
    public float PixelScale { get; init; } = 255f;

    /// <summary>Gets the per-channel mean subtracted after scaling, in <see cref="ChannelOrder"/>; default ImageNet's (0.485, 0.456, 0.406).</summary>
    public IReadOnlyList<float> Mean { get; init; } = [0.485f, 0.456f, 0.406f];

    /// <summary>Gets the per-channel divisor applied last, in <see cref="ChannelOrder"/>; default ImageNet's (0.229, 0.224, 0.225).</summary>
    public IReadOnlyList<float> Std { get; init; } = [0.229f, 0.224f, 0.225f];

    /// <summary>
    /// Gets an optional per-pixel mean image subtracted after scaling (3 x <see cref="InputSize"/> x <see cref="InputSize"/>
    /// floats, channel-major, channels in <see cref="ChannelOrder"/>), as CNTK and Caffe models use; default none.
    /// </summary>
    public ReadOnlyMemory<float> MeanImage { get; init; }

    /// <summary>Gets how the output of one image becomes the feature vector; default <see cref="OutputPooling.Flatten"/>.</summary>
    public OutputPooling Pooling { get; init; } = OutputPooling.Flatten;

    /// <summary>Gets the spec file looked for beside a model by the command line: the model's name with <c>.spec.json</c> (<c>m.onnx</c> → <c>m.spec.json</c>).</summary>
    /// <param name="modelPath">The .onnx file.</param>
    /// <returns>The path of the spec file (it may not exist).</returns>
    /// <exception cref="ArgumentException"><paramref name="modelPath"/> is empty.</exception>
    public static string SpecFilePath(string modelPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        return Path.ChangeExtension(Path.GetFullPath(modelPath), ".spec.json");
    }

    /// <summary>
    /// Reads a spec from a JSON object with any of the keys <c>name</c>, <c>inputName</c>, <c>outputName</c>,
    /// <c>inputSize</c>, <c>resizeShorterSide</c> (a number, or <see langword="null"/> to resize the whole image),
    /// <c>layout</c> (<c>nchw</c>|<c>nhwc</c>), <c>channelOrder</c> (<c>rgb</c>|<c>bgr</c>), <c>pixelScale</c>, <c>mean</c>
    /// and <c>std</c> (3 numbers each, in the model's channel order) and <c>pooling</c> (<c>flatten</c>|<c>global-average</c>);
    /// keys left out keep the defaults (an <c>inputSize</c> without <c>resizeShorterSide</c> resizes to 256/224 of it).
    /// </summary>
    /// <param name="path">The JSON file.</param>
    /// <returns>The validated spec.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="OnnxModelException">The file is missing, not JSON, has an unknown key or a bad value, or describes an impossible input; the message names the file and the key.</exception>
    public static OnnxModelSpec FromJsonFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return OnnxModelSpecFile.Read(path);
    }

    /// <summary>Checks that the spec is self-consistent.</summary>
    /// <exception cref="ArgumentException">A property is out of range; the message names it.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name) || !Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw new ArgumentException($"OnnxModelSpec.Name '{Name}' must be non-empty ASCII letters, digits, '-', '_' or '.'.", nameof(Name));
        }

        if (InputSize is < 8 or > 4096)
        {
            throw new ArgumentException($"OnnxModelSpec.InputSize {InputSize} must be between 8 and 4096.", nameof(InputSize));
        }

        if (ResizeShorterSide is { } side && side < InputSize)
        {
            throw new ArgumentException($"OnnxModelSpec.ResizeShorterSide {side} must be at least InputSize {InputSize} (the centre crop is taken from it).", nameof(ResizeShorterSide));
        }

        if (!Enum.IsDefined(Layout) || !Enum.IsDefined(ChannelOrder) || !Enum.IsDefined(Pooling))
        {
            throw new ArgumentException("OnnxModelSpec.Layout, ChannelOrder and Pooling must be defined values.", nameof(Layout));
        }

        if (!(PixelScale > 0) || float.IsInfinity(PixelScale))
        {
            throw new ArgumentException($"OnnxModelSpec.PixelScale {PixelScale} must be a positive number.", nameof(PixelScale));
        }

        if (Mean is null || Mean.Count != 3 || Mean.Any(v => !float.IsFinite(v)))
        {
            throw new ArgumentException("OnnxModelSpec.Mean must hold 3 finite numbers.", nameof(Mean));
        }

        if (Std is null || Std.Count != 3 || Std.Any(v => !float.IsFinite(v) || v == 0))
        {
            throw new ArgumentException("OnnxModelSpec.Std must hold 3 finite non-zero numbers.", nameof(Std));
        }

        if (!MeanImage.IsEmpty && MeanImage.Length != 3 * InputSize * InputSize)
        {
            throw new ArgumentException($"OnnxModelSpec.MeanImage holds {MeanImage.Length} floats; 3 x {InputSize} x {InputSize} = {3 * InputSize * InputSize} are needed.", nameof(MeanImage));
        }
    }

    /// <summary>A short text of the preprocessing, part of the model id: two specs with the same text make the same inputs.</summary>
    internal string PreprocessingId(string meanImageId)
    {
        var inv = CultureInfo.InvariantCulture;
        var resize = ResizeShorterSide is { } side ? string.Create(inv, $"s{side}c{InputSize}") : string.Create(inv, $"r{InputSize}");
        var order = ChannelOrder == ChannelOrder.Rgb ? "rgb" : "bgr";
        var layout = Layout == TensorLayout.Nchw ? "nchw" : "nhwc";
        var norm = string.Create(inv, $"{PixelScale:R}m{Mean[0]:R},{Mean[1]:R},{Mean[2]:R}s{Std[0]:R},{Std[1]:R},{Std[2]:R}");
        var mean = MeanImage.IsEmpty ? string.Empty : "-mi" + meanImageId;
        var pool = Pooling == OutputPooling.GlobalAverage ? "-gap" : string.Empty;
        return $"{resize}-{order}-{layout}-{Hashing.ShortHash(norm)}{mean}{pool}";
    }
}
