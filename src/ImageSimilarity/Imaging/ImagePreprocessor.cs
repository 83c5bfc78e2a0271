namespace ImageSimilarity.Imaging;

/// <summary>
/// Decodes an image and turns it into a 3x224x224 network input (CHW floats) with one of the
/// <see cref="PreprocessingPreset"/> pipelines, reproducing the Python reference arithmetic exactly.
/// </summary>
/// <remarks>Instances are immutable and thread-safe; the indexing pipeline runs one on several threads at once.</remarks>
public sealed class ImagePreprocessor : IImagePreprocessor
{
    /// <summary>The side of the square network input, in pixels.</summary>
    public const int InputSize = 224;

    /// <summary>The shorter side the torchvision preset resizes to before cropping.</summary>
    public const int TorchvisionResizeSize = 256;

    private static readonly float[] TorchvisionMean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] TorchvisionStd = [0.229f, 0.224f, 0.225f];
    private static readonly float[] CaffeMeanBgr = [103.939f, 116.779f, 123.68f];

    /// <summary>Initializes a new instance of the <see cref="ImagePreprocessor"/> class.</summary>
    /// <param name="preset">The preprocessing pipeline; it must match the model's weights.</param>
    /// <param name="decoderOptions">
    /// How images are decoded; <see langword="null"/> for <see cref="ImageDecoderOptions.Default"/>. The keras-caffe preset
    /// takes only <see cref="ImageDecoderOptions.MaxPixels"/> from it and otherwise decodes as Keras' <c>load_img</c>
    /// (<see cref="ImageDecoderOptions.KerasLoadImage"/>: alpha dropped without compositing, no EXIF orientation).
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="preset"/> is not a defined preset.</exception>
    public ImagePreprocessor(PreprocessingPreset preset = PreprocessingPreset.Torchvision, ImageDecoderOptions? decoderOptions = null)
    {
        if (!Enum.IsDefined(preset))
        {
            throw new ArgumentOutOfRangeException(nameof(preset), preset, "Unknown preprocessing preset.");
        }

        Preset = preset;
        decoderOptions ??= ImageDecoderOptions.Default;
        DecoderOptions = preset != PreprocessingPreset.KerasCaffe ? decoderOptions
            : decoderOptions.MaxPixels == ImageDecoderOptions.KerasLoadImage.MaxPixels ? ImageDecoderOptions.KerasLoadImage
            : new ImageDecoderOptions { MaxPixels = decoderOptions.MaxPixels, ApplyExifOrientation = false, Transparency = TransparencyMode.Ignore };
    }

    /// <summary>Gets the preprocessing pipeline.</summary>
    public PreprocessingPreset Preset { get; }

    /// <inheritdoc/>
    public ImageDecoderOptions DecoderOptions { get; }

    /// <summary>Gets the number of floats in one preprocessed image (3 x 224 x 224).</summary>
    public static int InputLength => 3 * InputSize * InputSize;

    /// <inheritdoc/>
    /// <returns>The 3x224x224 network input.</returns>
    public PreprocessedImage Preprocess(ImageInput image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Preprocess(image.ReadAll(DecoderOptions.MaxFileSize).Span, image.Name);
    }

    /// <summary>Reads, decodes and preprocesses one image; reading is asynchronous, decoding runs on the calling thread.</summary>
    /// <param name="image">The image.</param>
    /// <param name="cancellationToken">Cancels reading.</param>
    /// <returns>The 3x224x224 network input.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is <see langword="null"/>.</exception>
    /// <exception cref="ImageDecodeException">The image cannot be read or decoded; the message names it and says why.</exception>
    /// <exception cref="OperationCanceledException">The operation was cancelled.</exception>
    public async Task<PreprocessedImage> PreprocessAsync(ImageInput image, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        var bytes = await image.ReadAllAsync(DecoderOptions.MaxFileSize, cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return Preprocess(bytes.Span, image.Name);
    }

    private PreprocessedImage Preprocess(ReadOnlySpan<byte> encoded, string name)
    {
        var decoded = ImageDecoder.Decode(encoded, name, DecoderOptions);
        var data = new float[InputLength];
        ToTensor(decoded, Preset, data);
        return new PreprocessedImage(name, data, 3, InputSize, InputSize);
    }

    /// <summary>Resizes/crops a decoded image per <paramref name="preset"/> and writes the CHW floats into <paramref name="destination"/>.</summary>
    internal static void ToTensor(RgbImage decoded, PreprocessingPreset preset, Span<float> destination)
    {
        if (destination.Length != InputLength)
        {
            throw new ArgumentException($"The destination must hold {InputLength} floats.", nameof(destination));
        }

        if (preset == PreprocessingPreset.KerasCaffe)
        {
            var resized = PillowResize.Nearest(decoded, InputSize, InputSize);
            WriteCaffe(resized, destination);
            return;
        }

        var (w, h) = TorchvisionResizedSize(decoded.Width, decoded.Height, TorchvisionResizeSize);
        var scaled = PillowResize.Bilinear(decoded, w, h);
        var top = (int)Math.Round((h - InputSize) / 2.0, MidpointRounding.ToEven);
        var left = (int)Math.Round((w - InputSize) / 2.0, MidpointRounding.ToEven);
        WriteTorchvision(scaled, left, top, destination);
    }

    /// <summary>torchvision's <c>Resize(int)</c> size rule: shorter side to <paramref name="size"/>, longer side truncated.</summary>
    internal static (int Width, int Height) TorchvisionResizedSize(int width, int height, int size)
    {
        if (width <= height)
        {
            return (size, (int)((double)((long)size * height) / width));
        }

        return ((int)((double)((long)size * width) / height), size);
    }

    private static void WriteTorchvision(RgbImage image, int left, int top, Span<float> destination)
    {
        const int plane = InputSize * InputSize;
        var p = image.Pixels;
        var bpp = image.BytesPerPixel;
        for (var c = 0; c < 3; c++)
        {
            float mean = TorchvisionMean[c], std = TorchvisionStd[c];
            var dst = destination.Slice(c * plane, plane);
            for (var y = 0; y < InputSize; y++)
            {
                var row = ((top + y) * image.Stride) + (left * bpp) + c;
                var o = y * InputSize;
                for (var x = 0; x < InputSize; x++)
                {
                    // The same float32 operations as ToTensor (divide by 255) then Normalize (subtract, divide).
                    var v = p[row + (x * bpp)] / 255f;
                    dst[o + x] = (v - mean) / std;
                }
            }
        }
    }

    private static void WriteCaffe(RgbImage image, Span<float> destination)
    {
        const int plane = InputSize * InputSize;
        var p = image.Pixels;
        var bpp = image.BytesPerPixel;
        for (var c = 0; c < 3; c++)
        {
            var source = 2 - c; // BGR order
            var mean = CaffeMeanBgr[c];
            var dst = destination.Slice(c * plane, plane);
            for (var i = 0; i < plane; i++)
            {
                dst[i] = p[(i * bpp) + source] - mean;
            }
        }
    }

    /// <summary>Undoes the normalisation of the torchvision preset, giving values on the [0, 1] scale (for parity checks).</summary>
    internal static float TorchvisionToUnit(float value, int channel) => (value * TorchvisionStd[channel]) + TorchvisionMean[channel];
}
