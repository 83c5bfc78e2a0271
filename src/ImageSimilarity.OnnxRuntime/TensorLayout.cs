namespace ImageSimilarity.OnnxRuntime;

/// <summary>How a model's image input tensor is laid out.</summary>
public enum TensorLayout
{
    /// <summary>[batch, channels, height, width], the PyTorch/CNTK convention.</summary>
    Nchw = 0,

    /// <summary>[batch, height, width, channels], the TensorFlow/Keras convention.</summary>
    Nhwc = 1,
}
