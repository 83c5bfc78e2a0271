using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;

namespace ImageSimilarity.TestSupport;

/// <summary>
/// A small deterministic extractor for tests that do not need VGG16: it average-pools the real preprocessed image
/// into a 4x4 grid per channel (48 floats, shifted positive), so alike images get alike vectors.
/// </summary>
internal sealed class PoolingFeatureExtractor : IPreprocessingFeatureExtractor
{
    private int _imagesExtracted;
    private int _calls;

    public PoolingFeatureExtractor(PreprocessingPreset preset = PreprocessingPreset.Torchvision)
    {
        Preprocessor = new ImagePreprocessor(preset);
    }

    public int Dimension => 48;

    public string ModelId => "test-pooling-4x4/" + Preprocessor.Preset;

    public ImagePreprocessor Preprocessor { get; }

    IImagePreprocessor IPreprocessingFeatureExtractor.Preprocessor => Preprocessor;

    /// <summary>Gets how many images went through <see cref="ExtractPreprocessedAsync"/>.</summary>
    public int ImagesExtracted => Volatile.Read(ref _imagesExtracted);

    /// <summary>Gets how many batches were extracted.</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Gets or sets a delay per batch, to give tests time to cancel mid-run.</summary>
    public TimeSpan DelayPerBatch { get; set; }

    public async Task<IReadOnlyList<float[]>> ExtractAsync(IReadOnlyList<ImageInput> images, CancellationToken cancellationToken = default)
    {
        var prepared = new List<PreprocessedImage>(images.Count);
        foreach (var image in images)
        {
            prepared.Add(await Preprocessor.PreprocessAsync(image, cancellationToken));
        }

        return await ExtractPreprocessedAsync(prepared, cancellationToken);
    }

    public async Task<IReadOnlyList<float[]>> ExtractPreprocessedAsync(IReadOnlyList<PreprocessedImage> images, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (DelayPerBatch > TimeSpan.Zero)
        {
            await Task.Delay(DelayPerBatch, cancellationToken);
        }

        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Increment(ref _calls);
        Interlocked.Add(ref _imagesExtracted, images.Count);
        var result = new List<float[]>(images.Count);
        foreach (var image in images)
        {
            var v = new float[48];
            var data = image.Data.Span;
            int size = image.Width, cell = size / 4;
            for (var c = 0; c < 3; c++)
            {
                for (var y = 0; y < size; y++)
                {
                    for (var x = 0; x < size; x++)
                    {
                        int gy = Math.Min(3, y / cell), gx = Math.Min(3, x / cell);
                        v[(c * 16) + (gy * 4) + gx] += data[(c * size * size) + (y * size) + x];
                    }
                }
            }

            for (var i = 0; i < v.Length; i++)
            {
                v[i] = (v[i] / (cell * cell)) + 3f;
            }

            result.Add(v);
        }

        return result;
    }

    public void Dispose()
    {
    }
}
