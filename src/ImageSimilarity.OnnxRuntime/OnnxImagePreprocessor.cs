using ImageSimilarity.Imaging;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>
/// Decodes an image and turns it into the input of an ONNX image model as its <see cref="OnnxModelSpec"/> describes:
/// Pillow-exact bilinear resize (shorter side, then centre crop; or the whole image), channel order, scaling, mean
/// and std or mean image. The result is channel-major (CHW) whatever the model's layout; the extractor lays it out.
/// </summary>
/// <remarks>Instances are immutable and thread-safe; the indexing pipeline runs one on several threads at once.</remarks>
public sealed class OnnxImagePreprocessor : IImagePreprocessor
{
    private readonly float[] _mean;
    private readonly float[] _std;

    /// <summary>Initializes a new instance of the <see cref="OnnxImagePreprocessor"/> class.</summary>
    /// <param name="spec">The model's input description.</param>
    /// <param name="decoderOptions">How images are decoded; <see langword="null"/> for <see cref="ImageDecoderOptions.Default"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="spec"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="spec"/> is not valid.</exception>
    public OnnxImagePreprocessor(OnnxModelSpec spec, ImageDecoderOptions? decoderOptions = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        Spec = spec;
        DecoderOptions = decoderOptions ?? ImageDecoderOptions.Default;
        _mean = [.. spec.Mean];
        _std = [.. spec.Std];
    }

    /// <summary>Gets the model's input description.</summary>
    public OnnxModelSpec Spec { get; }

    /// <summary>Gets the decoder options.</summary>
    public ImageDecoderOptions DecoderOptions { get; }

    /// <summary>Gets the number of floats in one preprocessed image (3 x size x size).</summary>
    public int InputLength => 3 * Spec.InputSize * Spec.InputSize;

    /// <summary>Decodes and preprocesses one image on the calling thread.</summary>
    /// <param name="image">The image.</param>
    /// <returns>The 3 x size x size input, channel-major.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is <see langword="null"/>.</exception>
    /// <exception cref="ImageDecodeException">The image cannot be read or decoded; the message names it and says why.</exception>
    public PreprocessedImage Preprocess(ImageInput image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Preprocess(image.ReadAll(DecoderOptions.MaxFileSize).Span, image.Name);
    }

    /// <summary>Reads, decodes and preprocesses one image; reading is asynchronous, decoding runs on the calling thread.</summary>
    /// <param name="image">The image.</param>
    /// <param name="cancellationToken">Cancels reading.</param>
    /// <returns>The 3 x size x size input, channel-major.</returns>
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
        ToTensor(decoded, data);
        return new PreprocessedImage(name, data, 3, Spec.InputSize, Spec.InputSize);
    }

    /// <summary>Resizes/crops a decoded image and writes the CHW floats into <paramref name="destination"/>.</summary>
    internal void ToTensor(RgbImage decoded, Span<float> destination)
    {
        var size = Spec.InputSize;
        RgbImage scaled;
        int left = 0, top = 0;
        if (Spec.ResizeShorterSide is { } side)
        {
            // torchvision's Resize(int) size rule and CenterCrop offsets, as the core's torchvision preset.
            var (w, h) = ImagePreprocessor.TorchvisionResizedSize(decoded.Width, decoded.Height, side);
            scaled = PillowResize.Bilinear(decoded, w, h);
            top = (int)Math.Round((h - size) / 2.0, MidpointRounding.ToEven);
            left = (int)Math.Round((w - size) / 2.0, MidpointRounding.ToEven);
        }
        else
        {
            scaled = PillowResize.Bilinear(decoded, size, size);
        }

        var plane = size * size;
        var meanImage = Spec.MeanImage.Span;
        var hasMeanImage = !meanImage.IsEmpty;
        var p = scaled.Pixels;
        var bpp = scaled.BytesPerPixel;
        var scale = Spec.PixelScale;
        for (var c = 0; c < 3; c++)
        {
            var source = Spec.ChannelOrder == ChannelOrder.Bgr ? 2 - c : c;
            float mean = _mean[c], std = _std[c];
            var dst = destination.Slice(c * plane, plane);
            var mi = hasMeanImage ? meanImage.Slice(c * plane, plane) : default;
            for (var y = 0; y < size; y++)
            {
                var row = ((top + y) * scaled.Stride) + (left * bpp) + source;
                var o = y * size;
                for (var x = 0; x < size; x++)
                {
                    // Float32 operations in the order of the reference pipelines: scale, subtract mean, (mean image), divide.
                    var v = (p[row + (x * bpp)] / scale) - mean;
                    if (hasMeanImage)
                    {
                        v -= mi[o + x];
                    }

                    dst[o + x] = v / std;
                }
            }
        }
    }
}
