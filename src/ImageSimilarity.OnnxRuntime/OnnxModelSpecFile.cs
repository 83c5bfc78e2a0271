using System.Text.Json;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>Reads an <see cref="OnnxModelSpec"/> from a small JSON file (for the command line and configuration).</summary>
internal static class OnnxModelSpecFile
{
    public const string Keys = "name, inputName, outputName, inputSize, resizeShorterSide (a number, or null to resize the whole image), layout (nchw|nhwc), channelOrder (rgb|bgr), pixelScale, mean [3 numbers], std [3 numbers], pooling (flatten|global-average)";

    public static OnnxModelSpec Read(string path)
    {
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            throw new OnnxModelException(fullPath, $"The ONNX model spec file '{fullPath}' does not exist. Create it (keys: {Keys}) or leave it out to use the torchvision defaults.");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(fullPath), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new OnnxModelException(fullPath, $"The ONNX model spec file '{fullPath}' is not valid JSON ({ex.Message}). Write one object with the keys {Keys}.", ex);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new OnnxModelException(fullPath, $"The ONNX model spec file '{fullPath}' must hold one JSON object with the keys {Keys}.");
            }

            var defaults = new OnnxModelSpec();
            var name = defaults.Name;
            string? inputName = null, outputName = null;
            var inputSize = defaults.InputSize;
            var resize = defaults.ResizeShorterSide;
            var resizeGiven = false;
            var layout = defaults.Layout;
            var order = defaults.ChannelOrder;
            var scale = defaults.PixelScale;
            var mean = defaults.Mean;
            var std = defaults.Std;
            var pooling = defaults.Pooling;
            foreach (var property in document.RootElement.EnumerateObject())
            {
                var value = property.Value;
                try
                {
                    switch (property.Name)
                    {
                        case "name": name = String(value); break;
                        case "inputName": inputName = String(value); break;
                        case "outputName": outputName = String(value); break;
                        case "inputSize": inputSize = value.GetInt32(); break;
                        case "resizeShorterSide": resize = value.ValueKind == JsonValueKind.Null ? null : value.GetInt32(); resizeGiven = true; break;
                        case "layout": layout = String(value).ToUpperInvariant() switch { "NCHW" => TensorLayout.Nchw, "NHWC" => TensorLayout.Nhwc, _ => throw new FormatException("use nchw or nhwc") }; break;
                        case "channelOrder": order = String(value).ToUpperInvariant() switch { "RGB" => ChannelOrder.Rgb, "BGR" => ChannelOrder.Bgr, _ => throw new FormatException("use rgb or bgr") }; break;
                        case "pixelScale": scale = value.GetSingle(); break;
                        case "mean": mean = Three(value); break;
                        case "std": std = Three(value); break;
                        case "pooling": pooling = String(value).ToUpperInvariant() switch { "FLATTEN" => OutputPooling.Flatten, "GLOBAL-AVERAGE" or "GLOBALAVERAGE" => OutputPooling.GlobalAverage, _ => throw new FormatException("use flatten or global-average") }; break;
                        default: throw new OnnxModelException(fullPath, $"The ONNX model spec file '{fullPath}' has the unknown key '{property.Name}'. The keys are {Keys}.");
                    }
                }
                catch (Exception ex) when (ex is FormatException or InvalidOperationException)
                {
                    throw new OnnxModelException(fullPath, $"The key '{property.Name}' of the ONNX model spec file '{fullPath}' has the value {value.GetRawText()}: {ex.Message}.", ex);
                }
            }

            // torchvision's habit: resize to 256/224 of the input size, then centre crop (299 -> 342).
            if (!resizeGiven && inputSize != defaults.InputSize)
            {
                resize = (int)Math.Round(inputSize * 256.0 / 224.0);
            }

            var spec = new OnnxModelSpec
            {
                Name = name,
                InputName = inputName,
                OutputName = outputName,
                InputSize = inputSize,
                ResizeShorterSide = resize,
                Layout = layout,
                ChannelOrder = order,
                PixelScale = scale,
                Mean = mean,
                Std = std,
                Pooling = pooling,
            };
            try
            {
                spec.Validate();
            }
            catch (ArgumentException ex)
            {
                throw new OnnxModelException(fullPath, $"The ONNX model spec file '{fullPath}' describes an impossible input: {ex.Message}", ex);
            }

            return spec;
        }
    }

    private static string String(JsonElement value) => value.ValueKind == JsonValueKind.String ? value.GetString()! : throw new FormatException("a string is needed");

    private static float[] Three(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() != 3)
        {
            throw new FormatException("an array of 3 numbers (one per channel, in the model's channel order) is needed");
        }

        return [.. value.EnumerateArray().Select(v => v.GetSingle())];
    }
}
