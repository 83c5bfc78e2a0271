using ImageSimilarity.Extraction;

namespace SearchByImage;

/// <summary>Download progress on stderr, about every 5 %.</summary>
internal sealed class DownloadProgress : IProgress<WeightsDownloadProgress>
{
    private int _lastPercent = -1;

    public void Report(WeightsDownloadProgress value)
    {
        var percent = (int)((value.Fraction ?? 0) * 100);
        if (percent >= _lastPercent + 5 || percent == 100)
        {
            _lastPercent = percent;
            Console.Error.WriteLine($"downloading weights: {value.BytesReceived / (1024 * 1024)} MiB ({percent}%)");
        }
    }
}
