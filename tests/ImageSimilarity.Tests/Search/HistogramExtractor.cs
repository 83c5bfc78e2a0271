using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;

namespace ImageSimilarity.Search;

/// <summary>
/// A small deterministic stand-in for the VGG16 extractor in tests: a 4x4x4 RGB colour histogram of the decoded image.
/// It has no separate preprocessing (no <see cref="IPreprocessingFeatureExtractor"/>), like an extractor with its own
/// pipeline (an ONNX model), so it exercises the plain <see cref="IFeatureExtractor.ExtractAsync"/> path.
/// </summary>
internal sealed class HistogramExtractor(string modelId = HistogramExtractor.Model) : IFeatureExtractor
{
    public const string Model = "test-rgb-histogram-64";

    public int Dimension => 64;

    public string ModelId { get; } = modelId;

    public int Calls { get; private set; }

    public async Task<IReadOnlyList<float[]>> ExtractAsync(IReadOnlyList<ImageInput> images, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        Calls++;
        var result = new float[images.Count][];
        for (var i = 0; i < images.Count; i++)
        {
            var bytes = await images[i].ReadAllAsync(cancellationToken);
            var image = ImageDecoder.Decode(bytes.Span, images[i].Name, ImageDecoderOptions.Default);
            var histogram = new float[64];
            var p = image.Pixels;
            for (var j = 0; j < p.Length; j += image.BytesPerPixel)
            {
                histogram[((p[j] >> 6) * 16) + ((p[j + 1] >> 6) * 4) + (p[j + 2] >> 6)]++;
            }

            result[i] = histogram;
        }

        return result;
    }

    public void Dispose()
    {
    }
}
