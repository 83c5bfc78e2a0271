namespace ImageSimilarity.Extraction;

/// <summary>Progress of a weights download.</summary>
/// <param name="BytesReceived">The bytes received so far.</param>
/// <param name="TotalBytes">The size announced by the server, or <see langword="null"/> when it did not say.</param>
public readonly record struct WeightsDownloadProgress(long BytesReceived, long? TotalBytes)
{
    /// <summary>Gets the fraction done in [0, 1], or <see langword="null"/> when the size is unknown.</summary>
    public double? Fraction => TotalBytes is > 0 and var total ? Math.Min(1.0, (double)BytesReceived / total) : null;
}
