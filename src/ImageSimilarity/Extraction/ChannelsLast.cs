using static TorchSharp.torch;

namespace ImageSimilarity.Extraction;

/// <summary>
/// PyTorch's <c>channels_last</c> memory format for a 4-D tensor: the same N x C x H x W shape and values, stored as
/// N x H x W x C. When a convolution's input is in this layout, libtorch runs it (and every following convolution,
/// ReLU and max pool, which keep the layout) through oneDNN's NHWC kernels instead of converting each layer's input and
/// output between NCHW and oneDNN's blocked layout. For VGG16 in fp32 this measured about 17 % less CPU time per image
/// on AVX-512 (docs/benchmarks.md), which is the bulk of the gap to ONNX Runtime.
/// </summary>
/// <remarks>TorchSharp 0.107 has no <c>contiguous(memory_format)</c>; a permute, a copy and the inverse permute give the same tensor.</remarks>
internal static class ChannelsLast
{
    /// <summary>Returns <paramref name="x"/> (N x C x H x W) with channels-last strides; the caller's dispose scope owns the result.</summary>
    public static Tensor From(Tensor x) => x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
}
