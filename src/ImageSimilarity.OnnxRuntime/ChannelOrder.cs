namespace ImageSimilarity.OnnxRuntime;

/// <summary>The order of the colour channels a model expects.</summary>
public enum ChannelOrder
{
    /// <summary>Red, green, blue (torchvision, most PyTorch exports).</summary>
    Rgb = 0,

    /// <summary>Blue, green, red (Caffe, CNTK, Keras 'caffe' preprocessing).</summary>
    Bgr = 1,
}
