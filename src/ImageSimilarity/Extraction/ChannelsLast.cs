using TorchSharp;
using static TorchSharp.torch;

namespace ImageSimilarity.Extraction;

/// <summary>
/// PyTorch's <c>channels_last</c> memory format for a 4-D tensor: the same N x C x H x W shape and values, stored as
/// N x H x W x C. When a convolution's input is in this layout, libtorch runs it (and every following convolution,
/// ReLU and max pool, which keep the layout) through oneDNN's NHWC kernels instead of converting each layer's input and
/// output between NCHW and oneDNN's blocked layout. The weights are converted to the same layout once at load (bf16
/// needs them in it too). What it gains is measured in docs/benchmarks.md ("Why ONNX Runtime was faster").
/// </summary>
/// <remarks>TorchSharp 0.107 has no <c>contiguous(memory_format)</c>; a permute, a copy and the inverse permute give the same tensor.</remarks>
internal static class ChannelsLast
{
    /// <summary>Gets or sets whether extractors loaded from now on use channels-last; the benchmarks turn it off to measure NCHW.</summary>
    internal static bool Enabled { get; set; } = true;

    /// <summary>Returns <paramref name="x"/> (N x C x H x W) with channels-last strides; the caller's dispose scope owns the result.</summary>
    public static Tensor From(Tensor x) => x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);

    /// <summary>Re-lays every 4-D parameter of <paramref name="module"/> (the convolution weights) out channels-last, in place.</summary>
    public static void ConvertWeights(nn.Module module)
    {
        using var noGrad = torch.no_grad();
        foreach (var (_, parameter) in module.named_parameters())
        {
            if (parameter.dim() == 4)
            {
                // set_ makes the parameter share the copy's storage, sizes and strides; the copy's handle can go.
                using var copy = From(parameter);
                parameter.set_(copy);
            }
        }
    }
}
