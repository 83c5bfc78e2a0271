namespace ImageSimilarity.OnnxRuntime;

/// <summary>How a model's output for one image becomes a feature vector.</summary>
public enum OutputPooling
{
    /// <summary>All output values of the image, in the tensor's order (e.g. [1, 512, 1, 1] or [1, 4096] gives 512 or 4096 floats).</summary>
    Flatten = 0,

    /// <summary>
    /// The mean over the spatial positions of a [batch, channels, height, width] output (global average pooling), one
    /// float per channel: for models cut before their pooling layer.
    /// </summary>
    GlobalAverage = 1,
}
