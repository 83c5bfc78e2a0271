using ImageSimilarity.Imaging;
using ImageSimilarity.OnnxRuntime;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace ImageSimilarity.RealisticFeatures;

/// <summary>
/// The library's pretrained ResNet18 (same file, same graph edits for a dynamic batch, same preprocessing) with one
/// more graph output: the last ReLU (<c>ReLU393_Output_0</c>, [N, 512, 7, 7]), the input of the final average pool.
/// One run gives both the standard 512-d vector and the 4096-d grid-pooled one.
/// </summary>
internal sealed class ResNet18Activations : IDisposable
{
    public const string ReluOutput = "ReLU393_Output_0";
    public const int Channels = 512;
    public const int Side = 7;
    public const int Grid = 2;
    public const int PooledDimension = ResNet18Model.FeatureDimension;
    public const int GridDimension = 2 * Channels * Grid * Grid;

    private readonly InferenceSession _session;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;

    public ResNet18Activations(int threads)
    {
        ModelDirectory = ResNet18Model.FindModelDirectory();
        ModelPath = Path.Combine(ModelDirectory, ResNet18Model.ModelFile);
        var spec = ResNet18Model.CreateSpec(ModelDirectory);
        Preprocessor = new OnnxImagePreprocessor(spec);
        var file = OnnxModelFile.Read(ModelPath, spec, makeBatchDynamic: true);
        var graph = file.Model.Graph;
        if (!graph.Node.Any(n => n.Output.Contains(ReluOutput)))
        {
            throw new InvalidOperationException($"'{ModelPath}' has no node output '{ReluOutput}'; this generator expects the ResNet18 of {ResNet18Model.PackageId} {ResNet18Model.PackageVersion}.");
        }

        // No shape: ONNX Runtime infers it (MakeBatchDynamic dropped the recorded intermediate shapes anyway).
        graph.Output.Add(new ValueInfoProto
        {
            Name = ReluOutput,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
        });
        _session = OnnxFeatureExtractor.CreateSession(ModelPath, file.ToBytes(), threads);
        _inputNames = [file.InputName];
        _outputNames = [file.OutputName, ReluOutput];
    }

    public string ModelDirectory { get; }

    public string ModelPath { get; }

    public OnnxImagePreprocessor Preprocessor { get; }

    /// <summary>
    /// Runs a batch; writes each image's 512 pooled floats and 4096 grid floats (average pools of the 2x2 grid cells,
    /// channel-major, then the max pools) into the given rows. Returns the largest difference between the network's
    /// own 512-d pool and the mean of the 7x7 ReLU map (a check that the extra output is the pool's input).
    /// </summary>
    public float Run(IReadOnlyList<PreprocessedImage> images, Span<float> pooled, Span<float> grid)
    {
        var size = Preprocessor.Spec.InputSize;
        var length = 3 * size * size;
        var input = new float[images.Count * length];
        for (var i = 0; i < images.Count; i++)
        {
            images[i].Data.Span.CopyTo(input.AsSpan(i * length, length));
        }

        using var value = OrtValue.CreateTensorValueFromMemory(input, [images.Count, 3, size, size]);
        using var runOptions = new RunOptions();
        using var outputs = _session.Run(runOptions, _inputNames, [value], _outputNames);
        var pool = outputs[0].GetTensorDataAsSpan<float>();
        var reluShape = outputs[1].GetTensorTypeAndShape().Shape;
        if (!reluShape.SequenceEqual([images.Count, Channels, Side, Side]) || pool.Length != images.Count * PooledDimension)
        {
            throw new InvalidOperationException($"Unexpected output shapes: pool {pool.Length} floats, relu [{string.Join(", ", reluShape)}].");
        }

        var relu = outputs[1].GetTensorDataAsSpan<float>();
        pool.CopyTo(pooled);
        var worst = 0f;
        const int plane = Side * Side;
        for (var i = 0; i < images.Count; i++)
        {
            var row = grid.Slice(i * GridDimension, GridDimension);
            for (var c = 0; c < Channels; c++)
            {
                var map = relu.Slice(((i * Channels) + c) * plane, plane);
                var mean = System.Numerics.Tensors.TensorPrimitives.Sum(map) / plane;
                worst = Math.Max(worst, Math.Abs(mean - pool[(i * Channels) + c]));
                for (var gy = 0; gy < Grid; gy++)
                {
                    for (var gx = 0; gx < Grid; gx++)
                    {
                        // Adaptive pooling cells as PyTorch's AdaptiveAvgPool2d(2) makes them on 7x7: rows/columns
                        // [0, 4) and [3, 7) (the middle row and column belong to both cells).
                        int y0 = gy * Side / Grid, y1 = (((gy + 1) * Side) + Grid - 1) / Grid;
                        int x0 = gx * Side / Grid, x1 = (((gx + 1) * Side) + Grid - 1) / Grid;
                        var sum = 0f;
                        var max = float.NegativeInfinity;
                        for (var y = y0; y < y1; y++)
                        {
                            for (var x = x0; x < x1; x++)
                            {
                                var v = map[(y * Side) + x];
                                sum += v;
                                max = Math.Max(max, v);
                            }
                        }

                        var cell = (c * Grid * Grid) + (gy * Grid) + gx;
                        row[cell] = sum / ((y1 - y0) * (x1 - x0));
                        row[(Channels * Grid * Grid) + cell] = max;
                    }
                }
            }
        }

        return worst;
    }

    public void Dispose() => _session.Dispose();
}
