using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ImageSimilarity.Extraction;

/// <summary>
/// torchvision's VGG16 truncated after fc2: the same module tree and parameter names (<c>features.0.weight</c> ...
/// <c>classifier.3.bias</c>), output = ReLU after <c>classifier.3</c>. The 1000-way <c>classifier.6</c> is not built.
/// </summary>
/// <remarks>
/// Parameters are allocated uninitialised in the compute type and filled from a weights file, which avoids the
/// cost of a random initialisation that would be overwritten. The module is always in eval mode (dropout is identity).
/// </remarks>
internal sealed class Vgg16Network : nn.Module<Tensor, Tensor>
{
    /// <summary>Output channels per conv layer; 0 marks a 2x2 max pool (torchvision's configuration "D").</summary>
    internal static readonly int[] Configuration = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0];

    internal const int Fc1Inputs = 512 * 7 * 7;
    internal const int FeatureDimension = 4096;

    private readonly nn.Module<Tensor, Tensor> _features;
    private readonly nn.Module<Tensor, Tensor> _avgpool;
    private readonly nn.Module<Tensor, Tensor> _classifier;

    public Vgg16Network(ScalarType dtype)
        : base("VGG16")
    {
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        var channels = 3;
        foreach (var c in Configuration)
        {
            var index = layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (c == 0)
            {
                layers.Add((index, nn.MaxPool2d(kernel_size: 2, stride: 2)));
                continue;
            }

            layers.Add((index, new Conv3x3(channels, c, dtype)));
            layers.Add(((layers.Count).ToString(System.Globalization.CultureInfo.InvariantCulture), nn.ReLU(inplace: true)));
            channels = c;
        }

        _features = nn.Sequential(layers);
        _avgpool = nn.AdaptiveAvgPool2d([7, 7]);
        _classifier = nn.Sequential(
            ("0", new Dense(Fc1Inputs, FeatureDimension, dtype)),
            ("1", nn.ReLU(inplace: true)),
            ("2", nn.Dropout(0.5)),
            ("3", new Dense(FeatureDimension, FeatureDimension, dtype)),
            ("4", nn.ReLU(inplace: true)));
        register_module("features", _features);
        register_module("avgpool", _avgpool);
        register_module("classifier", _classifier);
        eval();
    }

    /// <summary>Gets the parameter names and shapes that a weights file must provide, in module order.</summary>
    internal static IReadOnlyList<(string Name, long[] Shape)> ExpectedParameters
    {
        get
        {
            var list = new List<(string, long[])>();
            int channels = 3, index = 0;
            foreach (var c in Configuration)
            {
                if (c == 0)
                {
                    index++;
                    continue;
                }

                list.Add(($"features.{index}.weight", [c, channels, 3, 3]));
                list.Add(($"features.{index}.bias", [c]));
                channels = c;
                index += 2;
            }

            list.Add(("classifier.0.weight", [FeatureDimension, Fc1Inputs]));
            list.Add(("classifier.0.bias", [FeatureDimension]));
            list.Add(("classifier.3.weight", [FeatureDimension, FeatureDimension]));
            list.Add(("classifier.3.bias", [FeatureDimension]));
            return list;
        }
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();

        // The extractor hands over channels-last input (ChannelsLast.From) to match the channels-last weights.
        var x = _features.forward(input);
        x = _avgpool.forward(x);
        x = x.flatten(1);
        return _classifier.forward(x).MoveToOuterDisposeScope();
    }

    /// <summary>A 3x3 convolution with padding 1, holding <c>weight</c> and <c>bias</c> like <c>torch.nn.Conv2d</c>.</summary>
    private sealed class Conv3x3 : nn.Module<Tensor, Tensor>
    {
        private readonly Parameter _weight;
        private readonly Parameter _bias;

        public Conv3x3(int inChannels, int outChannels, ScalarType dtype)
            : base("Conv2d")
        {
            _weight = new Parameter(empty([outChannels, inChannels, 3, 3], dtype), requires_grad: false);
            _bias = new Parameter(empty([outChannels], dtype), requires_grad: false);
            register_parameter("weight", _weight);
            register_parameter("bias", _bias);
        }

        public override Tensor forward(Tensor input)
            => nn.functional.conv2d(input, _weight, _bias, padding: [1, 1]);
    }

    /// <summary>A fully connected layer holding <c>weight</c> [out, in] and <c>bias</c> like <c>torch.nn.Linear</c>.</summary>
    private sealed class Dense : nn.Module<Tensor, Tensor>
    {
        private readonly Parameter _weight;
        private readonly Parameter _bias;

        public Dense(int inputs, int outputs, ScalarType dtype)
            : base("Linear")
        {
            _weight = new Parameter(empty([outputs, inputs], dtype), requires_grad: false);
            _bias = new Parameter(empty([outputs], dtype), requires_grad: false);
            register_parameter("weight", _weight);
            register_parameter("bias", _bias);
        }

        public override Tensor forward(Tensor input)
            => nn.functional.linear(input, _weight, _bias);
    }
}
