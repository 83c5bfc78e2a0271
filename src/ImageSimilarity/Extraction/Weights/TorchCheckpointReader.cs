using System.Buffers.Binary;
using System.IO.Compression;
using System.Numerics;

namespace ImageSimilarity.Extraction.Weights;

/// <summary>
/// Reads the tensors of a PyTorch <c>torch.save</c> state dict in both formats: zip (torch &gt;= 1.6) and the
/// legacy format of <c>vgg16-397923af.pth</c>. Tensor data stays in the file until it is read into place.
/// </summary>
internal static class TorchCheckpointReader
{
    private static readonly BigInteger LegacyMagic = BigInteger.Parse("119547037146038801333356", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Reads a zip-format checkpoint.</summary>
    public static StateDict ReadZip(string path)
    {
        var fileName = Path.GetFileName(path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        ZipArchive archive;
        try
        {
            archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: false);
        }
        catch (InvalidDataException ex)
        {
            stream.Dispose();
            throw new WeightsFileException(path, [$"the file is truncated or not a valid zip archive ({ex.Message})"], ex);
        }

        try
        {
            var pkl = archive.Entries.Where(e => e.FullName.EndsWith("data.pkl", StringComparison.Ordinal)
                && e.FullName.Count(c => c == '/') == 1).ToList();
            if (pkl.Count != 1)
            {
                throw new WeightsFileException(path, [$"the zip archive has {pkl.Count} '<name>/data.pkl' entries; a torch.save file has exactly one"]);
            }

            if (pkl[0].Length > PickleReader.MaxPickleBytes)
            {
                throw new WeightsFileException(path, [$"'{pkl[0].FullName}' declares {pkl[0].Length:N0} bytes, more than the {PickleReader.MaxPickleBytes / (1024 * 1024)} MB a state dict's pickle could need"]);
            }

            var prefix = pkl[0].FullName[..^"data.pkl".Length];
            var storages = new Dictionary<string, WeightStorage>(StringComparer.Ordinal);
            object? root;
            using (var pklStream = new BufferedStream(pkl[0].Open(), 1 << 16))
            {
                var reader = new PickleReader(pklStream, path, pid => ZipStorage(pid, path));
                root = reader.Load();
            }

            var tensors = ToTensors(root, path, storage =>
            {
                if (!storages.TryGetValue(storage.Key, out var s))
                {
                    var entry = archive.GetEntry(prefix + "data/" + storage.Key)
                        ?? throw new WeightsFileException(path, [$"the zip archive lacks the storage entry '{prefix}data/{storage.Key}'"]);
                    s = new ZipEntryStorage(entry, fileName, storage.ElementCount * WeightDTypes.SizeOf(storage.DType));
                    storages[storage.Key] = s;
                }

                return s;
            });
            return new StateDict(path, "PyTorch zip", tensors, archive);
        }
        catch (InvalidDataException ex)
        {
            // The central directory is read lazily and entries are checked when opened: damage shows up here too.
            archive.Dispose();
            throw new WeightsFileException(path, [$"the file is truncated or not a valid zip archive ({ex.Message})"], ex);
        }
        catch
        {
            archive.Dispose();
            throw;
        }
    }

    /// <summary>Reads a legacy-format checkpoint: five pickles, then each storage as int64 count + raw data.</summary>
    public static StateDict ReadLegacy(string path)
    {
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            var fileLength = RandomAccess.GetLength(handle);
            var byKey = new Dictionary<string, PickledStorage>(StringComparer.Ordinal);
            object? root;
            List<object?> keys;
            long dataStart;
            // A separate stream for the pickles: disposing a FileStream built on `handle` would close the handle.
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
            {
                PickleReader Reader() => new(stream, path, pid => LegacyStorage(pid, path, byKey));
                var magic = Reader().Load();
                if (magic is not BigInteger m || m != LegacyMagic)
                {
                    throw new WeightsFileException(path, ["the file is not a PyTorch checkpoint (wrong magic number)"]);
                }

                if (Reader().Load() is not long protocol || protocol != 1001)
                {
                    throw new WeightsFileException(path, ["unsupported legacy PyTorch protocol version (expected 1001)"]);
                }

                if (Reader().Load() is PickleDict sysInfo && sysInfo["little_endian"] is false)
                {
                    throw new WeightsFileException(path, ["the file was written on a big-endian machine, which is not supported"]);
                }

                root = Reader().Load();
                keys = Reader().Load() as List<object?> ?? throw new WeightsFileException(path, ["the list of storage keys is missing"]);
                dataStart = stream.Position;
            }

            // Storages follow in the order of the key list: int64 element count, then the raw little-endian data.
            var storages = new Dictionary<string, WeightStorage>(StringComparer.Ordinal);
            var offset = dataStart;
            Span<byte> count = stackalloc byte[8];
            foreach (var k in keys)
            {
                if (k is not string key || !byKey.TryGetValue(key, out var ps))
                {
                    throw new WeightsFileException(path, [$"the storage key list names '{k}', which no tensor uses"]);
                }

                var bytes = ps.ElementCount * WeightDTypes.SizeOf(ps.DType);
                if (offset + 8 <= fileLength)
                {
                    RandomAccess.Read(handle, count, offset);
                    var declared = BinaryPrimitives.ReadInt64LittleEndian(count);
                    if (declared != ps.ElementCount)
                    {
                        throw new WeightsFileException(path, [$"storage '{key}' holds {declared} elements in the data section but {ps.ElementCount} in the pickle"]);
                    }
                }

                storages[key] = new FileRangeStorage(handle, Path.GetFileName(path), $"storage '{key}'", offset + 8, bytes, fileLength);
                // Past the end of a truncated file the offsets only need to stay "beyond the end" without wrapping
                // (both terms are below 2^62 here).
                offset = Math.Min(offset + 8 + bytes, long.MaxValue / 2);
            }

            var tensors = ToTensors(root, path, storage =>
                storages.TryGetValue(storage.Key, out var s) ? s : throw new WeightsFileException(path, [$"storage '{storage.Key}' is not in the storage key list"]));
            return new StateDict(path, "PyTorch legacy", tensors, handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    internal static PickledStorage ZipStorage(object?[] pid, string path)
    {
        // ('storage', torch.FloatStorage, '<key>', '<location>', numel)
        if (pid.Length < 5 || pid[0] is not "storage" || pid[1] is not TorchStorageType type || pid[2] is not string key || pid[4] is not long numel)
        {
            throw new WeightsFileException(path, ["a tensor refers to its storage in an unknown way"]);
        }

        CheckElementCount(numel, key, path);
        return new PickledStorage(key, type.DType, numel, 0);
    }

    private static PickledStorage LegacyStorage(object?[] pid, string path, Dictionary<string, PickledStorage> byKey)
    {
        // ('storage', torch.FloatStorage, '<root key>', '<location>', root numel, view metadata or None)
        if (pid.Length < 5 || pid[0] is not "storage" || pid[1] is not TorchStorageType type || pid[2] is not string key || pid[4] is not long numel)
        {
            throw new WeightsFileException(path, ["a tensor refers to its storage in an unknown way"]);
        }

        CheckElementCount(numel, key, path);
        if (!byKey.TryGetValue(key, out var root))
        {
            root = new PickledStorage(key, type.DType, numel, 0);
            byKey[key] = root;
        }

        if (pid.Length > 5 && pid[5] is object?[] view)
        {
            // (view key, offset, view size): a storage view inside the root storage (files from before torch 1.0).
            if (view.Length != 3 || view[1] is not long viewOffset || viewOffset < 0 || viewOffset > MaxElements)
            {
                throw new WeightsFileException(path, ["a storage view has unexpected metadata"]);
            }

            return new PickledStorage(key, type.DType, numel, viewOffset);
        }

        return root;
    }

    /// <summary>The most elements a storage may declare: its byte length (up to 8 bytes each) must fit in 64 bits.</summary>
    private const long MaxElements = long.MaxValue / 16;

    private static void CheckElementCount(long numel, string key, string path)
    {
        if (numel < 0 || numel > MaxElements)
        {
            throw new WeightsFileException(path, [$"storage '{key}' declares {numel:N0} elements, which is impossible"]);
        }
    }

    private static List<WeightTensor> ToTensors(object? root, string path, Func<PickledStorage, WeightStorage> storageOf)
    {
        if (root is not PickleDict dict)
        {
            throw new WeightsFileException(path, ["the file does not hold a state dict (a dict of name -> tensor)"]);
        }

        var tensors = new List<WeightTensor>(dict.Items.Count);
        foreach (var (k, v) in dict.Items)
        {
            if (k is not string name || v is not PickledTensor t)
            {
                throw new WeightsFileException(path, [$"the state dict entry '{k}' is not a tensor"]);
            }

            long elementOffset;
            try
            {
                elementOffset = checked(t.Storage.ElementOffset + t.StorageOffset);
            }
            catch (OverflowException ex)
            {
                throw new WeightsFileException(path, [$"'{name}' has a storage offset too large to address"], ex);
            }

            tensors.Add(WeightTensor.Create(path, name, t.Storage.DType, t.Shape, t.Stride, elementOffset, storageOf(t.Storage)));
        }

        return tensors;
    }
}
