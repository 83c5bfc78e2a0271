using System.Buffers.Binary;
using Microsoft.Data.Sqlite;

namespace ImageSimilarity.Storage;

public sealed partial class EmbeddedVectorStore
{
    /// <summary>The kinds of file <see cref="OpenAsync"/> tells apart by their first bytes.</summary>
    private enum FileKind
    {
        Sqlite,
        Legacy,
    }

    /// <summary>
    /// Writes a complete copy of the store to a new index file (an SQLite database, see docs/storage.md), atomically:
    /// the file at <paramref name="path"/> is either what it was or the complete copy, even if the process is killed.
    /// </summary>
    /// <param name="path">The index file. Its folder is created when missing.</param>
    /// <param name="cancellationToken">Cancels the save; the old file is then left as it was.</param>
    /// <returns>A task that completes when the file is written and flushed to disk.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is <see langword="null"/>.</exception>
    /// <exception cref="IOException">The file cannot be written (for example the disk is full), or an index at that path is in use.</exception>
    /// <remarks>
    /// The copy is written to a temporary file beside the target, flushed, then renamed over the target; a killed
    /// save leaves only that temporary file (named <c>path.*.tmp</c>). The copy is not bound to this store: later
    /// changes are not written to it. To keep an index on disk as it changes, use <see cref="OpenOrCreateAsync"/>,
    /// whose store commits every change. Saving to the file this store is bound to is <see cref="SaveChangesAsync"/>.
    /// Writers wait while the copy is written; searches do not.
    /// </remarks>
    public Task SaveAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var fullPath = Path.GetFullPath(path);
        if (_index is { } index && string.Equals(index.Path, fullPath, StringComparison.Ordinal))
        {
            return SaveChangesAsync(cancellationToken);
        }

        return Task.Run(() => SaveCopy(fullPath, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Opens an index file: an SQLite index (format 2) is loaded into memory and stays bound to the file (changes are
    /// committed to it, and other processes' changes are picked up before each search); an old single-file index
    /// (format 1, <c>.isvs</c>) is loaded into memory only, for searching or for converting with <see cref="SaveAsync"/>
    /// (<see cref="OpenOrCreateAsync"/> converts it in place).
    /// </summary>
    /// <param name="path">The index file.</param>
    /// <param name="options">
    /// The options of the opened store; <see langword="null"/> keeps the file's precision. A different
    /// <see cref="EmbeddedVectorStoreOptions.Precision"/> converts the vectors while loading (in memory; the file keeps its own).
    /// </param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The store.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is <see langword="null"/>.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IndexFileException">
    /// The file is not an index (a text file, a foreign SQLite database), is truncated or corrupt (every vector is
    /// checked against its checksum; the message names the record), or has a newer format version. The message names
    /// the file and the problem; nothing is changed.
    /// </exception>
    /// <remarks>A file that cannot be written (read-only file, folder or mount) is opened read-only: it can be searched, and writes throw.</remarks>
    public static Task<EmbeddedVectorStore> OpenAsync(string path, EmbeddedVectorStoreOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var fullPath = Path.GetFullPath(path);
        return Task.Run(
            () => Sniff(fullPath) == FileKind.Legacy
                ? OpenLegacy(fullPath, options, cancellationToken)
                : OpenSqlite(fullPath, options, cancellationToken),
            cancellationToken);
    }

    /// <summary>
    /// Reads what an index file holds (model, dimension, precision, count, times, properties) without loading the
    /// vectors: fast even for a large index. Reads both the SQLite format and the old single-file format.
    /// </summary>
    /// <param name="path">The index file.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The description of the index.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is <see langword="null"/>.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IndexFileException">
    /// The file is not an index, is truncated, or its header or properties are corrupt. The vectors are not checked;
    /// <see cref="OpenAsync"/> checks them.
    /// </exception>
    public static Task<IndexFileInfo> ReadInfoAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var fullPath = Path.GetFullPath(path);
        return Task.Run(
            () =>
            {
                if (Sniff(fullPath) == FileKind.Legacy)
                {
                    return ReadLegacyInfo(fullPath);
                }

                using var index = SqliteIndex.Open(fullPath, allowWrite: false);
                try
                {
                    index.Begin(write: false);
                    index.ReadHeader();
                    var count = index.CountRecords();
                    var properties = index.ReadUserProperties();
                    index.Commit();
                    return new IndexFileInfo(fullPath, index.FileSize(), SqliteIndex.FormatVersion, index.Dimension, index.Precision, count, index.ModelId, index.CreatedUtc, index.UpdatedUtc, properties, index.BinaryMedians is { } medians && BinaryCodes.ParseMedians(medians, index.Dimension) is not null, index.TwoStageCandidates);
                }
                catch (SqliteException ex)
                {
                    throw SqliteIndex.Corrupt(fullPath, ex);
                }
            },
            cancellationToken);
    }

    /// <summary>Tells the format of an existing file from its first 100 bytes, refusing what is neither.</summary>
    private static FileKind Sniff(string path)
    {
        Span<byte> start = stackalloc byte[100];
        long length;
        int got;
        using (var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            length = RandomAccess.GetLength(handle);
            got = RandomAccess.Read(handle, start, 0);
        }

        start = start[..got];
        if (start.StartsWith(IndexFileFormat.Magic))
        {
            return FileKind.Legacy;
        }

        if (!SqliteIndex.HasSqliteSignature(start))
        {
            throw new IndexFileException(path, length == 0
                ? "it is empty (0 bytes), not an ImageSimilarity vector index."
                : "it is not an ImageSimilarity vector index (it is neither an SQLite database nor an old 'ISVS' index file).");
        }

        if (got < 100)
        {
            throw new IndexFileException(path, $"it is truncated: it has {length} bytes, less than an SQLite header.");
        }

        // The header's page count is valid when its change counter matches the version-valid-for number. Without a
        // write-ahead log the file must hold that many pages; a shorter file was cut off (a copy that stopped early).
        var pageSize = BinaryPrimitives.ReadUInt16BigEndian(start[16..]) is var p && p == 1 ? 65536 : p;
        var pages = BinaryPrimitives.ReadUInt32BigEndian(start[28..]);
        var valid = BinaryPrimitives.ReadUInt32BigEndian(start[24..]) == BinaryPrimitives.ReadUInt32BigEndian(start[92..]);
        var wal = new FileInfo(path + "-wal");
        if (valid && (long)pages * pageSize > length && !(wal.Exists && wal.Length > 0))
        {
            throw new IndexFileException(path, $"it is truncated: it has {length} bytes but its header says {(long)pages * pageSize}. Restore it from a backup or rebuild the index.");
        }

        return FileKind.Sqlite;
    }

    private void SaveCopy(string path, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        if (File.Exists(path + "-wal"))
        {
            throw new IOException($"Cannot replace the index '{path}': it has a write-ahead log ('{path}-wal'), so a process has it open or was stopped while it had. Open it with OpenOrCreateAsync and change it there, or close the other process first.");
        }

        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        var done = false;
        try
        {
            EnterRead();
            try
            {
                WriteCopy(temp, cancellationToken);
            }
            finally
            {
                _lock.ExitReadLock();
            }

            File.Move(temp, path, overwrite: true);
            done = true;
        }
        catch (SqliteException ex)
        {
            throw WriteFailed(path, ex);
        }
        finally
        {
            if (!done)
            {
                DeleteDatabaseFiles(temp);
            }
        }
    }

    /// <summary>Writes every live record (with its code, and the two-stage setting) into a new database file at <paramref name="path"/> and flushes it. Caller holds the read lock.</summary>
    private void WriteCopy(string path, CancellationToken cancellationToken)
    {
        var dim = Dimension;
        var reader = _blocks.HoldsRows ? null : RentReader();
        try
        {
            using (var index = SqliteIndex.Create(path, dim, ModelId, Precision, CreatedUtc, UpdatedUtc, _properties.ToArray(), bulk: true))
            {
                index.Begin(write: true);
                var codes = _blocks.Codes;
                if (codes is not null)
                {
                    index.SetBinaryMedians(BinaryCodes.FormatMedians(codes.Medians));
                    index.EnsureCodesTable();
                }

                if (TwoStageCandidates is { } candidates)
                {
                    index.SetTwoStageCandidates(candidates);
                }

                var seq = index.NextSeq(UpdatedUtc);
                var perBlock = _blocks.RowsPerBlock;
                var fileRow = reader is null ? [] : new byte[reader.RowBytes];
                var code = codes is null ? [] : new byte[codes.CodeBytes];
                reader?.Begin(write: false);
                for (var slot = 0; slot < _slotCount; slot++)
                {
                    if (_ids[slot] is not { } id)
                    {
                        continue;
                    }

                    if ((slot & 1023) == 0)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                    }

                    ReadOnlySpan<byte> vector;
                    if (reader is null)
                    {
                        var block = slot / perBlock;
                        vector = _blocks.RowBytes(block, slot - (block * perBlock), 1);
                    }
                    else if (reader.TryReadVector(_rowids[slot], id, fileRow))
                    {
                        vector = fileRow;
                    }
                    else
                    {
                        // Deleted by another process since the last refresh.
                        continue;
                    }

                    var (rowid, checksum) = index.Upsert(id, seq, vector, SqliteIndex.MetadataJson(_metadata[slot]));
                    if (codes is not null)
                    {
                        codes.ReadBytes(slot, code);
                        index.WriteCode(rowid, checksum, code);
                    }
                }

                reader?.TryRollback();
                index.Commit();
                index.FinishBulk();
            }
        }
        finally
        {
            if (reader is not null)
            {
                ReturnReader(reader);
            }
        }

        // Bulk mode skipped SQLite's syncs: make the file durable before it is renamed into place.
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        stream.Flush(flushToDisk: true);
    }

    private static IOException WriteFailed(string path, SqliteException ex) => ex.SqliteErrorCode switch
    {
        13 /* FULL */ => new IOException($"The index '{path}' could not be written: the disk is full. Nothing of this change was stored; the index keeps its last committed state. Free some space and try again.", ex),
        8 /* READONLY */ => new IOException($"The index '{path}' could not be written: the file or its folder is read-only. It can still be searched.", ex),
        _ => new IOException($"The index '{path}' could not be written ({ex.Message}). Nothing of this change was stored.", ex),
    };

    private static void DeleteDatabaseFiles(string path)
    {
        foreach (var file in new[] { path, path + "-wal", path + "-shm", path + "-journal" })
        {
            TryDelete(file);
        }
    }
}
