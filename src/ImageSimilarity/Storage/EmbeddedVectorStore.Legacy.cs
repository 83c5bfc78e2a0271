using System.IO.Hashing;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Text;

namespace ImageSimilarity.Storage;

public sealed partial class EmbeddedVectorStore
{
    /// <summary>
    /// Writes the store in the old single-file format (version 1, <c>.isvs</c>): kept for the tests of the old reader
    /// and for the benchmarks that compare today's store with it. Temp file, fsync, rename.
    /// </summary>
    internal Task SaveLegacyAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Precision == VectorPrecision.Int8)
        {
            throw new NotSupportedException("The single-file format (version 1) has no int8 precision.");
        }

        if (!_blocks.HoldsRows)
        {
            throw new NotSupportedException("The single-file format (version 1) needs the vectors in memory.");
        }

        return Task.Run(() => SaveLegacy(Path.GetFullPath(path), cancellationToken), cancellationToken);
    }

    /// <summary>Describes a version-1 file from its header and metadata section.</summary>
    private static IndexFileInfo ReadLegacyInfo(string fullPath)
    {
        using var handle = File.OpenHandle(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read);
        var (h, meta, length) = ReadHeaderAndMetadata(handle, fullPath);
        using var reader = new BinaryReader(new MemoryStream(meta, writable: false), Encoding.UTF8);
        try
        {
            var modelId = reader.ReadString();
            var created = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
            var updated = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
            var properties = ReadLegacyProperties(reader);
            return new IndexFileInfo(fullPath, length, IndexFileFormat.CurrentVersion, h.Dimension, h.Precision, h.Count, modelId, created, updated, properties);
        }
        catch (Exception ex) when (IsMalformed(ex))
        {
            throw new IndexFileException(fullPath, $"its id and metadata section is malformed ({ex.Message}).", ex);
        }
    }

    private static bool IsMalformed(Exception ex)
        => ex is EndOfStreamException or InvalidDataException or FormatException or ArgumentException or DecoderFallbackException or OverflowException
            || (ex is IOException && ex is not IndexFileException);

    /// <summary>Reads an entry count and checks it against the bytes left: every entry takes at least <paramref name="minBytes"/>.</summary>
    private static int ReadCount(BinaryReader reader, int minBytes, string what)
    {
        var n = reader.ReadInt32();
        var left = reader.BaseStream.Length - reader.BaseStream.Position;
        if (n < 0 || (long)n * minBytes > left)
        {
            throw new InvalidDataException($"{what} claims {n} entries but only {left} bytes remain");
        }

        return n;
    }

    private static Dictionary<string, string> ReadLegacyProperties(BinaryReader reader)
    {
        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        var propertyCount = ReadCount(reader, 2, "the property list");
        for (var i = 0; i < propertyCount; i++)
        {
            var key = reader.ReadString();
            properties[key] = reader.ReadString();
        }

        return properties;
    }

    private static (IndexFileFormat.Header Header, byte[] Meta, long Length) ReadHeaderAndMetadata(Microsoft.Win32.SafeHandles.SafeFileHandle handle, string path)
    {
        var length = RandomAccess.GetLength(handle);
        var header = new byte[IndexFileFormat.HeaderSize];
        var got = RandomAccess.Read(handle, header, 0);
        if (IndexFileFormat.TryReadHeader(header.AsSpan(0, got), length, out var h) is { } problem)
        {
            throw new IndexFileException(path, problem);
        }

        var meta = new byte[h.MetaLength];
        ReadExactly(handle, meta, h.MetaOffset, path);
        if (XxHash3.HashToUInt64(meta) != h.MetaHash)
        {
            throw new IndexFileException(path, "its id and metadata section is corrupt (checksum mismatch). Restore it from a backup or rebuild the index.");
        }

        return (h, meta, length);
    }

    private static EmbeddedVectorStore OpenLegacy(string path, EmbeddedVectorStoreOptions? options, CancellationToken cancellationToken)
    {
        if (options is { VectorsInMemory: false })
        {
            throw new ArgumentException($"VectorsInMemory = false needs an SQLite index file, but '{path}' is an old single-file index. Convert it first (OpenOrCreateAsync upgrades it in place).", nameof(options));
        }

        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        var (h, meta, _) = ReadHeaderAndMetadata(handle, path);

        EmbeddedVectorStore store;
        string[] ids;
        IReadOnlyDictionary<string, string>[] metadata;
        try
        {
            using var reader = new BinaryReader(new MemoryStream(meta, writable: false), Encoding.UTF8);
            var modelId = reader.ReadString();
            var created = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
            var updated = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
            var effective = options ?? new EmbeddedVectorStoreOptions { Precision = h.Precision };
            store = new EmbeddedVectorStore(h.Dimension, modelId, effective, created, updated);
            foreach (var (key, value) in ReadLegacyProperties(reader))
            {
                store._properties[key] = value;
            }

            // Each record takes at least 6 bytes of the metadata section (a 1-byte id with its length, a 4-byte count),
            // so a count the section cannot hold is refused before anything of that size is allocated.
            if (h.Count > (reader.BaseStream.Length - reader.BaseStream.Position) / 6)
            {
                throw new InvalidDataException($"the header claims {h.Count} records but the metadata section holds at most {(reader.BaseStream.Length - reader.BaseStream.Position) / 6}");
            }

            ids = new string[h.Count];
            metadata = new IReadOnlyDictionary<string, string>[h.Count];
            for (var i = 0; i < ids.Length; i++)
            {
                ids[i] = reader.ReadString();
                var n = ReadCount(reader, 2, $"the metadata of record {i}");
                if (n == 0)
                {
                    metadata[i] = NoMetadata;
                    continue;
                }

                var dictionary = new Dictionary<string, string>(n, StringComparer.Ordinal);
                for (var j = 0; j < n; j++)
                {
                    var key = reader.ReadString();
                    dictionary[key] = reader.ReadString();
                }

                metadata[i] = dictionary;
            }

            if (reader.BaseStream.Position != meta.Length)
            {
                throw new InvalidDataException("unexpected bytes after the last record");
            }
        }
        catch (Exception ex) when (IsMalformed(ex))
        {
            throw new IndexFileException(path, $"its id and metadata section is malformed ({ex.Message}).", ex);
        }

        store.LoadVectors(handle, h, path, ids, metadata, cancellationToken);
        return store;
    }

    private static void ReadExactly(Microsoft.Win32.SafeHandles.SafeFileHandle handle, Span<byte> destination, long offset, string path)
    {
        while (destination.Length > 0)
        {
            var n = RandomAccess.Read(handle, destination, offset);
            if (n == 0)
            {
                throw new IndexFileException(path, "it is truncated (it ended while being read).");
            }

            destination = destination[n..];
            offset += n;
        }
    }

    private void LoadVectors(Microsoft.Win32.SafeHandles.SafeFileHandle handle, IndexFileFormat.Header h, string path, string[] ids, IReadOnlyDictionary<string, string>[] metadata, CancellationToken cancellationToken)
    {
        var count = (int)h.Count;
        var dim = Dimension;
        _blocks.EnsureCapacity(count);
        _ids = new string?[Math.Max(16, count)];
        _metadata = new IReadOnlyDictionary<string, string>[_ids.Length];
        var hash = new XxHash3();
        var offset = h.VectorOffset;
        var fileElement = h.Precision == VectorPrecision.Half ? 2 : 4;
        byte[]? convert = null;
        for (var start = 0; start < count; start += _blocks.RowsPerBlock)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var rows = Math.Min(_blocks.RowsPerBlock, count - start);
            var block = start / _blocks.RowsPerBlock;
            if (Precision == VectorPrecision.Int8)
            {
                // Into int8 memory: through floats, row by row (int8 rows are quantised per vector).
                var rowBytes = dim * fileElement;
                convert ??= new byte[rowBytes];
                var values = new float[dim];
                for (var r = 0; r < rows; r++)
                {
                    ReadExactly(handle, convert, offset, path);
                    hash.Append(convert);
                    offset += rowBytes;
                    DecodeRow(convert, h.Precision, values);
                    _blocks.Write(start + r, values);
                }

                continue;
            }

            if (h.Precision == Precision)
            {
                // Same precision: read the file's bytes straight into the block, no per-record parsing.
                var target = _blocks.RowBytes(block, 0, rows);
                ReadExactly(handle, target, offset, path);
                hash.Append(target);
                offset += target.Length;
                continue;
            }

            // Different precision: convert a batch of rows at a time through a small buffer.
            const int Batch = 256;
            convert ??= new byte[Batch * dim * fileElement];
            for (var r = 0; r < rows; r += Batch)
            {
                var n = Math.Min(Batch, rows - r);
                var bytes = convert.AsSpan(0, n * dim * fileElement);
                ReadExactly(handle, bytes, offset, path);
                hash.Append(bytes);
                offset += bytes.Length;
                var target = _blocks.RowBytes(block, r, n);
                if (h.Precision == VectorPrecision.Half)
                {
                    TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(bytes), MemoryMarshal.Cast<byte, float>(target));
                }
                else
                {
                    TensorPrimitives.ConvertToHalf(MemoryMarshal.Cast<byte, float>(bytes), MemoryMarshal.Cast<byte, Half>(target));
                }
            }
        }

        if (hash.GetCurrentHashAsUInt64() != h.VectorHash)
        {
            throw new IndexFileException(path, "its vector section is corrupt (checksum mismatch). Restore it from a backup or rebuild the index.");
        }

        for (var i = 0; i < count; i++)
        {
            if (string.IsNullOrEmpty(ids[i]) || !_slotById.TryAdd(ids[i], i))
            {
                throw new IndexFileException(path, $"the id '{ids[i]}' is empty or appears twice.");
            }

            _ids[i] = ids[i];
            _metadata[i] = metadata[i];
        }

        _slotCount = count;
    }

    private void SaveLegacy(string path, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var temp = path + ".tmp";
        FileStream stream;
        try
        {
            stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0, FileOptions.None);
        }
        catch (IOException ex)
        {
            throw new IOException($"Cannot write '{temp}' to save the index '{path}': {ex.Message} Is another save to the same file running?", ex);
        }

        var renamed = false;
        try
        {
            using (stream)
            {
                EnterRead();
                try
                {
                    WriteIndex(stream, cancellationToken);
                }
                finally
                {
                    _lock.ExitReadLock();
                }

                // Durable before it becomes visible: a crash after the rename must not expose unwritten pages.
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
            renamed = true;
        }
        finally
        {
            if (!renamed)
            {
                TryDelete(temp);
            }
        }
    }

    private void WriteIndex(FileStream stream, CancellationToken cancellationToken)
    {
        var dim = Dimension;
        var count = _slotById.Count;
        var metaStream = new MemoryStream();
        using (var writer = new BinaryWriter(metaStream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(ModelId);
            writer.Write(CreatedUtc.UtcTicks);
            writer.Write(Interlocked.Read(ref _updatedTicks));
            var properties = _properties.ToArray();
            writer.Write(properties.Length);
            foreach (var (key, value) in properties)
            {
                writer.Write(key);
                writer.Write(value);
            }

            for (var slot = 0; slot < _slotCount; slot++)
            {
                if (_ids[slot] is not { } id)
                {
                    continue;
                }

                writer.Write(id);
                var metadata = _metadata[slot];
                writer.Write(metadata.Count);
                foreach (var (key, value) in metadata)
                {
                    writer.Write(key);
                    writer.Write(value);
                }
            }
        }

        var meta = metaStream.GetBuffer().AsSpan(0, (int)metaStream.Length);
        var vectorOffset = IndexFileFormat.AlignUp(IndexFileFormat.HeaderSize + meta.Length);
        var elementSize = Precision == VectorPrecision.Half ? 2L : 4L;

        stream.Write(new byte[IndexFileFormat.HeaderSize]);
        stream.Write(meta);
        stream.Write(new byte[vectorOffset - IndexFileFormat.HeaderSize - meta.Length]);

        // Rows in slot order, skipping free slots; runs of live slots in one block are written in one call.
        var hash = new XxHash3();
        var perBlock = _blocks.RowsPerBlock;
        for (var slot = 0; slot < _slotCount;)
        {
            if (_ids[slot] is null)
            {
                slot++;
                continue;
            }

            var block = slot / perBlock;
            var first = slot - (block * perBlock);
            var end = Math.Min(_slotCount, (block + 1) * perBlock);
            var runEnd = slot;
            while (runEnd < end && _ids[runEnd] is not null)
            {
                runEnd++;
            }

            var bytes = _blocks.RowBytes(block, first, runEnd - slot);
            hash.Append(bytes);
            stream.Write(bytes);
            slot = runEnd;
            if (block != runEnd / perBlock)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }
        }

        var header = new byte[IndexFileFormat.HeaderSize];
        IndexFileFormat.WriteHeader(header, new IndexFileFormat.Header(
            dim,
            Precision,
            count,
            IndexFileFormat.HeaderSize,
            meta.Length,
            vectorOffset,
            count * dim * elementSize,
            XxHash3.HashToUInt64(meta),
            hash.GetCurrentHashAsUInt64()));
        stream.Position = 0;
        stream.Write(header);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover temporary file is harmless and the next save overwrites it.
        }
    }
}
