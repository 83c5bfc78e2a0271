namespace ImageSimilarity.Extraction.Weights;

/// <summary>Opens a weights file in any supported format, detected from its content (not its extension).</summary>
/// <remarks>Each format plugs in here by producing a <see cref="StateDict"/> of name -> tensor source (Keras HDF5 included).</remarks>
internal static class WeightsFileReader
{
    public static StateDict Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new WeightsFileException(path, ["the file does not exist"]);
        }

        Span<byte> head = stackalloc byte[16];
        int n;
        using (var handle = File.OpenHandle(path))
        {
            n = RandomAccess.Read(handle, head, 0);
        }

        head = head[..n];
        try
        {
            if (n >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K')
            {
                return TorchCheckpointReader.ReadZip(path);
            }

            if (n >= 2 && head[0] == 0x80)
            {
                return TorchCheckpointReader.ReadLegacy(path);
            }

            if (KerasWeightsReader.HasSignature(head))
            {
                return KerasWeightsReader.Read(path);
            }

            if (n >= 9 && head[8] == (byte)'{')
            {
                return SafetensorsReader.Read(path);
            }
        }
        catch (IOException ex)
        {
            throw new WeightsFileException(path, [$"the file cannot be read: {ex.Message}"], ex);
        }

        throw new WeightsFileException(path, ["the format is not recognised: expected a PyTorch .pth (zip or legacy), a safetensors file or Keras weights (.h5)"]);
    }
}
