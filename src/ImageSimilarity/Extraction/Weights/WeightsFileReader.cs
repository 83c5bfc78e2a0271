namespace ImageSimilarity.Extraction.Weights;

/// <summary>Opens a weights file in any supported format, detected from its content (not its extension).</summary>
/// <remarks>Each format plugs in here by producing a <see cref="StateDict"/> of name -> tensor source (Keras HDF5 included).</remarks>
internal static class WeightsFileReader
{
    public static StateDict Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Directory.Exists(path))
        {
            throw new WeightsFileException(path, ["it is a directory, not a weights file"]);
        }

        if (!File.Exists(path))
        {
            throw new WeightsFileException(path, ["the file does not exist"]);
        }

        // Pipes, sockets and devices report 0 bytes: refuse them before an open() that could block forever.
        long length;
        try
        {
            var real = File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName ?? path;
            length = new FileInfo(real).Length;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new WeightsFileException(path, [$"the file cannot be read: {ex.Message}"], ex);
        }

        if (length == 0)
        {
            throw new WeightsFileException(path, ["the file is empty (0 bytes) or is not a regular file (a pipe, device or socket is never read)"]);
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
