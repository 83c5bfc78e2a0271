using System.Globalization;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace ImageSimilarity.Storage;

/// <summary>
/// The index file (format version 2): one SQLite database in WAL mode. Owns one connection; not thread-safe
/// (<see cref="EmbeddedVectorStore"/> serialises every call with its database gate).
/// </summary>
/// <remarks>
/// <code>
/// PRAGMA application_id = 0x49535653  -- 'ISVS': marks the file as ours
/// properties(scope, key, value)       -- scope 'store': format, format_version, dimension, model_id, precision,
///                                     --   created_utc, updated_utc, change_seq, binary_medians, binary_code_layout,
///                                     --   two_stage_candidates (the last three optional); scope 'user': free properties
/// records(id, seq, checksum, metadata, vector)  -- vector last so reading the small columns never walks overflow pages
/// deletions(id, seq)                  -- ids deleted at change seq, so other processes can follow deletes
/// binary_codes(record, checksum, code) -- a record's binary code (keyed by the record's rowid; checksum = the
///                                     --   record's checksum when the code was made, so a stale code is recognised)
/// </code>
/// Files written before the <c>binary_codes</c> table existed lack it; it is created by the first write that needs it.
/// Every write transaction takes the next <c>change_seq</c> and stamps its rows with it; a process that has the index
/// open loads the rows with a higher seq than it has seen when <c>PRAGMA data_version</c> says another connection
/// committed.
/// </remarks>
internal sealed class SqliteIndex : IDisposable
{
    public const int ApplicationId = 0x49535653;
    public const int FormatVersion = 2;
    public const string FormatName = "ImageSimilarity.VectorIndex";
    public const int MaxDimension = 65_536;

    /// <summary>The store property holding the binary-code medians (two-stage search), when they were built.</summary>
    public const string BinaryMediansKey = "binary_medians";

    /// <summary>The store property naming the bit layout of the rows of <c>binary_codes</c> (<see cref="BinaryCodes.Layout"/>).</summary>
    public const string BinaryCodeLayoutKey = "binary_code_layout";

    /// <summary>The store property holding the default candidate count of two-stage search, when it is enabled.</summary>
    public const string TwoStageCandidatesKey = "two_stage_candidates";

    private const string CodesTable = "CREATE TABLE IF NOT EXISTS binary_codes (record INTEGER PRIMARY KEY, checksum INTEGER NOT NULL, code BLOB NOT NULL)";

    // A covering index of everything but the vector: a store that keeps its vectors in the file reads it at open
    // instead of the table, whose leaf pages hold the start of each vector (all of it for int8 rows, which fit on a
    // page) and lie between the vectors' overflow pages.
    private const string HeadIndex = "CREATE INDEX IF NOT EXISTS records_head ON records (id, checksum, metadata)";

    // 8 KiB pages: a 4096-float vector (16 KiB) takes two overflow pages and a half-precision one takes one, with
    // about 6% (fp32) / 11% (half) left over; 4 KiB pages (3% / 5%) need twice as many page reads per vector, and
    // SQLite reads each overflow page with its own pread, which costs most when the machine is busy.
    public const int PageSize = 8192;

    // SQLite's own limit for one mapping in this build (SQLITE_MAX_MMAP_SIZE); reads past it use pread.
    private const long MmapSize = 0x7fff0000;

    private static readonly string[] Schema =
    [
        "CREATE TABLE properties (scope TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (scope, key)) WITHOUT ROWID",
        "CREATE TABLE records (id TEXT NOT NULL UNIQUE, seq INTEGER NOT NULL, checksum INTEGER NOT NULL, metadata TEXT NOT NULL, vector BLOB NOT NULL)",
        "CREATE INDEX records_seq ON records (seq)",
        "CREATE TABLE deletions (id TEXT NOT NULL PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID",
        "CREATE INDEX deletions_seq ON deletions (seq)",
        CodesTable,
        HeadIndex,
    ];

    private readonly SqliteConnection _connection;
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private readonly bool _immutable;
    private SQLitePCL.sqlite3_stmt? _vectorStatement;

    private SqliteIndex(string path, SqliteConnection connection, bool readOnly, bool immutable = false)
    {
        Path = path;
        _connection = connection;
        IsReadOnly = readOnly;
        _immutable = immutable;
    }

    public string Path { get; }

    public bool IsReadOnly { get; }

    public int Dimension { get; private set; }

    public string ModelId { get; private set; } = string.Empty;

    public VectorPrecision Precision { get; private set; }

    public DateTimeOffset CreatedUtc { get; private set; }

    public DateTimeOffset UpdatedUtc { get; private set; }

    public long ChangeSeq { get; private set; }

    /// <summary>Gets the binary-code medians stored with the index (<see cref="BinaryCodes.FormatMedians"/>), or <see langword="null"/>.</summary>
    public string? BinaryMedians { get; private set; }

    /// <summary>Gets a value indicating whether the file has the <c>binary_codes</c> table in the layout this library writes.</summary>
    public bool HasUsableCodes { get; private set; }

    /// <summary>Gets a value indicating whether the file has the covering index <c>records_head</c> (read by an open that leaves the vectors in the file).</summary>
    public bool HasHeadIndex { get; private set; }

    /// <summary>Gets the default candidate count of two-stage search recorded in the file, or <see langword="null"/>.</summary>
    public int? TwoStageCandidates { get; private set; }

    /// <summary>Gets the bytes of one binary code (dimension bits rounded up to whole ulongs).</summary>
    public int CodeBytes => ((Dimension + 63) / 64) * sizeof(ulong);

    public int RowBytes => Precision switch
    {
        VectorPrecision.Half => Dimension * 2,
        VectorPrecision.Int8 => Int8Rows.RowBytes(Dimension),
        _ => Dimension * 4,
    };

    /// <summary>Tells whether the file starts with SQLite's signature (the caller then opens it with <see cref="Open"/>).</summary>
    public static bool HasSqliteSignature(ReadOnlySpan<byte> start) => start.StartsWith("SQLite format 3\0"u8);

    /// <summary>
    /// Creates a new, empty index file at <paramref name="path"/>, which must not exist. With <paramref name="bulk"/>
    /// (for a file nobody else sees yet, written under a temporary name) there is no journal and no sync while it is
    /// filled; call <see cref="FinishBulk"/> after the last commit and flush the file before renaming it.
    /// </summary>
    public static SqliteIndex Create(string path, int dimension, string modelId, VectorPrecision precision, DateTimeOffset created, DateTimeOffset updated, IEnumerable<KeyValuePair<string, string>> userProperties, bool bulk = false)
    {
        var connection = Connect(path, SqliteOpenMode.ReadWriteCreate, immutable: false);
        var index = new SqliteIndex(path, connection, readOnly: false);
        try
        {
            index.Execute(string.Create(CultureInfo.InvariantCulture, $"PRAGMA page_size = {PageSize}; PRAGMA application_id = {ApplicationId};"));
            index.Execute(bulk ? "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;" : "PRAGMA journal_mode = WAL;");
            index.Execute("BEGIN IMMEDIATE");
            foreach (var statement in Schema)
            {
                index.Execute(statement);
            }

            index.Dimension = dimension;
            index.ModelId = modelId;
            index.Precision = precision;
            index.CreatedUtc = created;
            index.UpdatedUtc = updated;
            index.SetStoreProperty("format", FormatName);
            index.SetStoreProperty("format_version", FormatVersion.ToString(CultureInfo.InvariantCulture));
            index.SetStoreProperty("dimension", dimension.ToString(CultureInfo.InvariantCulture));
            index.SetStoreProperty("model_id", modelId);
            index.SetStoreProperty("precision", PrecisionName(precision));
            index.SetStoreProperty("created_utc", created.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            index.SetStoreProperty("updated_utc", updated.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            index.SetStoreProperty("change_seq", "0");
            index.WriteUserProperties(userProperties, new Dictionary<string, string>(StringComparer.Ordinal));
            index.Execute("COMMIT");
            return index;
        }
        catch
        {
            index.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens an existing index file: read-write when the file and its folder are writable, otherwise read-only
    /// (and, when SQLite cannot create its shared-memory file beside it, as an immutable file).
    /// </summary>
    /// <exception cref="IndexFileException">The file is not an ImageSimilarity index, or it is corrupt or newer.</exception>
    public static SqliteIndex Open(string path, bool allowWrite)
    {
        var attempts = allowWrite
            ? new[] { (SqliteOpenMode.ReadWrite, false), (SqliteOpenMode.ReadOnly, false), (SqliteOpenMode.ReadOnly, true) }
            : [(SqliteOpenMode.ReadOnly, false), (SqliteOpenMode.ReadOnly, true)];
        SqliteException? last = null;
        foreach (var (mode, immutable) in attempts)
        {
            if (immutable && new FileInfo(path + "-wal") is { Exists: true, Length: > 0 })
            {
                // Immutable mode would ignore the commits still in the log: refuse rather than show an old state.
                throw new IndexFileException(path, $"it cannot be opened for writing, and its write-ahead log '{path}-wal' holds commits that a read-only open cannot apply. Open it once where the folder is writable.", last!);
            }

            SqliteConnection? connection = null;
            try
            {
                connection = Connect(path, mode, immutable);
                var readOnly = mode == SqliteOpenMode.ReadOnly || SQLitePCL.raw.sqlite3_db_readonly(connection.Handle, "main") == 1;
                var index = new SqliteIndex(path, connection, readOnly, immutable);
                connection = null;
                try
                {
                    index.ReadHeader();
                    return index;
                }
                catch
                {
                    index.Dispose();
                    throw;
                }
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode is 8 /* READONLY */ or 14 /* CANTOPEN */ or 10 /* IOERR */)
            {
                // Cannot write the -wal/-shm files beside a read-only file or folder: try the next, more modest mode.
                last = ex;
            }
            catch (SqliteException ex)
            {
                throw Corrupt(path, ex);
            }
            finally
            {
                connection?.Dispose();
            }
        }

        throw Corrupt(path, last!);
    }

    public static IndexFileException Corrupt(string path, SqliteException ex) => ex.SqliteErrorCode switch
    {
        26 /* NOTADB */ => new IndexFileException(path, "it is not an ImageSimilarity vector index (SQLite says: file is not a database).", ex),
        11 /* CORRUPT */ => new IndexFileException(path, $"the SQLite database is corrupt or truncated ({ex.Message}). Restore it from a backup or rebuild the index.", ex),
        _ => new IndexFileException(path, $"SQLite cannot read it ({ex.Message}).", ex),
    };

    public static string PrecisionName(VectorPrecision precision) => precision switch
    {
        VectorPrecision.Half => "float16",
        VectorPrecision.Int8 => "int8",
        _ => "float32",
    };

    /// <summary>The checksum stored with a row: XxHash3 (64-bit, seed 0) of the vector blob, as a signed integer.</summary>
    public static long Checksum(ReadOnlySpan<byte> vector) => unchecked((long)XxHash3.HashToUInt64(vector));

    /// <summary>Writes metadata as a JSON object of strings.</summary>
    public static string MetadataJson(IReadOnlyDictionary<string, string> metadata)
    {
        if (metadata.Count == 0)
        {
            return "{}";
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (key, value) in metadata)
            {
                writer.WriteString(key, value);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Reads a JSON object of strings; <see langword="null"/> when the text is anything else.</summary>
    public static Dictionary<string, string>? ParseMetadata(string json) => ParseMetadata(Encoding.UTF8.GetBytes(json));

    /// <summary>Reads a JSON object of strings from its UTF-8 bytes; <see langword="null"/> when the text is anything else.</summary>
    public static Dictionary<string, string>? ParseMetadata(ReadOnlySpan<byte> bytes)
    {
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = 2 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    return reader.Read() ? null : result;
                }

                var key = reader.GetString()!;
                if (!reader.Read() || reader.TokenType != JsonTokenType.String)
                {
                    return null;
                }

                result[key] = reader.GetString()!;
            }

            return null;
        }
        catch (JsonException)
        {
            return null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    public void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Gets SQLite's data version: it changes when another connection commits (PRAGMA data_version).</summary>
    public long DataVersion() => (long)Prepared("PRAGMA data_version").ExecuteScalar()!;

    public void Begin(bool write) => Execute(write ? "BEGIN IMMEDIATE" : "BEGIN");

    /// <summary>Starts a write transaction only when no other connection is writing (no wait); <see langword="false"/> otherwise.</summary>
    public bool TryBeginWriteNow()
    {
        Execute("PRAGMA busy_timeout = 0");
        try
        {
            Begin(write: true);
            return true;
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is 5 /* BUSY */ or 6 /* LOCKED */)
        {
            return false;
        }
        finally
        {
            Execute("PRAGMA busy_timeout = 60000");
        }
    }

    /// <summary>
    /// Writes the code of the record at <paramref name="rowid"/> with the record's current checksum (inside a write
    /// transaction, after <see cref="ClearCodes"/>, when the caller knows the code was made from the current row).
    /// </summary>
    public void WriteCodeForRecord(long rowid, ReadOnlySpan<byte> code)
    {
        var command = Prepared("INSERT INTO binary_codes (record, checksum, code) SELECT rowid, checksum, $code FROM records WHERE rowid = $record");
        command.Parameters.Clear();
        command.Parameters.AddWithValue("$record", rowid);
        command.Parameters.Add("$code", SqliteType.Blob).Value = code.ToArray();
        command.ExecuteNonQuery();
    }

    public void Commit() => Execute("COMMIT");

    public void TryRollback()
    {
        try
        {
            if (!_connection.Handle!.IsInvalid && SQLitePCL.raw.sqlite3_get_autocommit(_connection.Handle) == 0)
            {
                Execute("ROLLBACK");
            }
        }
        catch (SqliteException)
        {
            // SQLite rolls back on its own when a statement fails with SQLITE_FULL or an I/O error.
        }
    }

    /// <summary>Re-reads the store properties (within a transaction, so it matches the rows read with it).</summary>
    public void ReadHeader()
    {
        var store = ReadProperties("store");
        if (store is null)
        {
            throw new IndexFileException(Path, "it is an SQLite database but not an ImageSimilarity vector index (it has no 'properties' table).");
        }

        if (!store.TryGetValue("format", out var format) || format != FormatName)
        {
            throw new IndexFileException(Path, $"it is an SQLite database but not an ImageSimilarity vector index (its format property is '{format}').");
        }

        if (!int.TryParse(store.GetValueOrDefault("format_version"), NumberStyles.None, CultureInfo.InvariantCulture, out var version) || version < FormatVersion)
        {
            throw new IndexFileException(Path, $"its format version '{store.GetValueOrDefault("format_version")}' is not one this library reads.");
        }

        if (version > FormatVersion)
        {
            throw new IndexFileException(Path, $"it uses format version {version}, newer than the version {FormatVersion} this library reads; update ImageSimilarity.");
        }

        if (!int.TryParse(store.GetValueOrDefault("dimension"), NumberStyles.None, CultureInfo.InvariantCulture, out var dimension) || dimension <= 0 || dimension > MaxDimension)
        {
            throw new IndexFileException(Path, $"its dimension '{store.GetValueOrDefault("dimension")}' is not between 1 and {MaxDimension}.");
        }

        Precision = store.GetValueOrDefault("precision") switch
        {
            "float32" => VectorPrecision.Single,
            "float16" => VectorPrecision.Half,
            "int8" => VectorPrecision.Int8,
            var other => throw new IndexFileException(Path, $"its precision '{other}' is none of float32, float16 and int8 (a newer version of ImageSimilarity may read it)."),
        };

        if (store.GetValueOrDefault("model_id") is not { Length: > 0 } model)
        {
            throw new IndexFileException(Path, "it has no model id.");
        }

        Dimension = dimension;
        ModelId = model;
        CreatedUtc = ParseTime(store, "created_utc");
        UpdatedUtc = ParseTime(store, "updated_utc");
        BinaryMedians = store.GetValueOrDefault(BinaryMediansKey);
        HasUsableCodes = store.GetValueOrDefault(BinaryCodeLayoutKey) == BinaryCodes.Layout
            && Scalar("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'binary_codes'") is 1L;
        HasHeadIndex = Scalar("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = 'records_head'") is 1L;
        TwoStageCandidates = int.TryParse(store.GetValueOrDefault(TwoStageCandidatesKey), NumberStyles.None, CultureInfo.InvariantCulture, out var candidates) && candidates > 0
            ? candidates
            : null;
        ChangeSeq = long.TryParse(store.GetValueOrDefault("change_seq"), NumberStyles.None, CultureInfo.InvariantCulture, out var seq)
            ? seq
            : throw new IndexFileException(Path, "its change_seq property is missing or malformed.");
    }

    public Dictionary<string, string> ReadUserProperties() => ReadProperties("user") ?? new(StringComparer.Ordinal);

    public long CountRecords() => (long)Scalar("SELECT count(*) FROM records")!;

    /// <summary>
    /// Opens a second, read-only connection to the same file (the same way this one was opened), so that another
    /// thread can read a part of the records at the same time. Its header is read; start a transaction before reading.
    /// </summary>
    public SqliteIndex OpenReader()
    {
        var connection = Connect(Path, SqliteOpenMode.ReadOnly, _immutable);
        var index = new SqliteIndex(Path, connection, readOnly: true, _immutable);
        try
        {
            index.ReadHeader();
            return index;
        }
        catch
        {
            index.Dispose();
            throw;
        }
    }

    /// <summary>Every record's rowid, ascending, read from the small <c>records_seq</c> index (not the table).</summary>
    public long[] ReadRowids(int count)
    {
        var rowids = new long[count];
        var n = 0;
        var command = Prepared("SELECT rowid FROM records INDEXED BY records_seq");
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                if (n == count)
                {
                    throw new IndexFileException(Path, "it holds more records than it counted in the same read transaction (the file is damaged). Restore it from a backup or rebuild the index.");
                }

                rowids[n++] = reader.GetInt64(0);
            }
        }

        if (n != count)
        {
            throw new IndexFileException(Path, "it holds fewer records than it counted in the same read transaction (the file is damaged). Restore it from a backup or rebuild the index.");
        }

        Array.Sort(rowids);
        return rowids;
    }

    /// <summary>The rowid of the record at zero-based <paramref name="position"/> in rowid order.</summary>
    public long RowidAt(long position)
    {
        var command = Prepared("SELECT rowid FROM records ORDER BY rowid LIMIT 1 OFFSET $position");
        command.Parameters.Clear();
        command.Parameters.AddWithValue("$position", position);
        return (long)command.ExecuteScalar()!;
    }

    public long FileSize()
    {
        long size = 0;
        foreach (var file in new[] { Path, Path + "-wal" })
        {
            try
            {
                size += new FileInfo(file).Length;
            }
            catch (FileNotFoundException)
            {
            }
        }

        return size;
    }

    /// <summary>
    /// Reads records with a change seq above <paramref name="afterSeq"/> (-1 for all), in storage order, with their
    /// vectors: see the other overload.
    /// </summary>
    /// <exception cref="IndexFileException">A vector has the wrong length or fails its checksum, or metadata is malformed.</exception>
    public void ReadRecords(long afterSeq, RecordTarget target, RecordDone done, CancellationToken cancellationToken) =>
        ReadRecords(afterSeq, long.MinValue, long.MaxValue, vectors: true, target, done, cancellationToken);

    /// <summary>
    /// Reads the records with <paramref name="fromRowid"/> &lt;= rowid &lt; <paramref name="toRowid"/> (and a change
    /// seq above <paramref name="afterSeq"/> unless it is negative), in rowid order, each with its binary code when the
    /// file holds a valid, current one. With <paramref name="vectors"/>, <paramref name="target"/> gives where a
    /// record's vector bytes go, after their checksum passed; without, the vector column is not read at all (SQLite
    /// then reads none of the blob's overflow pages). <paramref name="done"/> is called once per record.
    /// </summary>
    public void ReadRecords(long afterSeq, long fromRowid, long toRowid, bool vectors, RecordTarget? target, RecordDone done, CancellationToken cancellationToken)
    {
        // Straight on SQLite's C API: one prepared statement stepped row by row, the vector read from the row the
        // statement is on (sqlite3_column_blob), without ADO.NET's per-column conversions or a second cursor seeking
        // each row for an incremental-blob read. Strings are decoded from SQLite's UTF-8 bytes once.
        var codes = HasUsableCodes;

        // Every record without its vector: from the covering index when there is one (in id order then).
        var head = !vectors && afterSeq < 0 && HasHeadIndex;
        var sql = "SELECT r.rowid, r.id, r.checksum, r.metadata, "
            + (codes ? "c.checksum, c.code" : "NULL, NULL")
            + (vectors ? ", r.vector" : string.Empty)
            + (head ? " FROM records r INDEXED BY records_head" : " FROM records r")
            + (codes ? " LEFT JOIN binary_codes c ON c.record = r.rowid" : string.Empty)
            + " WHERE r.rowid >= ?2 AND r.rowid < ?3"
            + (afterSeq < 0 ? string.Empty : " AND r.seq > ?1")
            + (head ? string.Empty : " ORDER BY r.rowid");
        var expected = RowBytes;
        var codeBytes = CodeBytes;
        var db = _connection.Handle!;
        SqliteException.ThrowExceptionForRC(SQLitePCL.raw.sqlite3_prepare_v2(db, sql, out var statement), db);
        using (statement)
        {
            if (afterSeq >= 0)
            {
                SqliteException.ThrowExceptionForRC(SQLitePCL.raw.sqlite3_bind_int64(statement, 1, afterSeq), db);
            }

            SqliteException.ThrowExceptionForRC(SQLitePCL.raw.sqlite3_bind_int64(statement, 2, fromRowid), db);
            SqliteException.ThrowExceptionForRC(SQLitePCL.raw.sqlite3_bind_int64(statement, 3, toRowid), db);

            var n = 0;
            while (true)
            {
                var rc = SQLitePCL.raw.sqlite3_step(statement);
                if (rc == SQLitePCL.raw.SQLITE_DONE)
                {
                    break;
                }

                if (rc != SQLitePCL.raw.SQLITE_ROW)
                {
                    SqliteException.ThrowExceptionForRC(rc, db);
                }

                if ((++n & 1023) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                var rowid = SQLitePCL.raw.sqlite3_column_int64(statement, 0);
                var id = TextColumn(statement, 1, "id");
                if (SQLitePCL.raw.sqlite3_column_type(statement, 2) != SQLitePCL.raw.SQLITE_INTEGER)
                {
                    throw new IndexFileException(Path, $"record '{id}' has a missing or malformed column (checksum is NULL or not an integer). Delete the record (see docs/storage.md) or rebuild the index.");
                }

                var checksum = SQLitePCL.raw.sqlite3_column_int64(statement, 2);
                if (SQLitePCL.raw.sqlite3_column_type(statement, 3) != SQLitePCL.raw.SQLITE_TEXT)
                {
                    throw new IndexFileException(Path, "a record has a missing or malformed column (metadata is NULL or not text). Restore the index from a backup or rebuild it.");
                }

                // Kept as its UTF-8 bytes (half the memory of a string, no decoding) until it is first looked at.
                var json = SQLitePCL.raw.sqlite3_column_blob(statement, 3);

                // A code counts only when it has the right length and was made from this very vector (its checksum
                // is the record's); anything else (none, damaged, left by an older writer) is re-encoded by the caller.
                var code = ReadOnlySpan<byte>.Empty;
                if (codes
                    && SQLitePCL.raw.sqlite3_column_type(statement, 4) == SQLitePCL.raw.SQLITE_INTEGER
                    && SQLitePCL.raw.sqlite3_column_int64(statement, 4) == checksum
                    && SQLitePCL.raw.sqlite3_column_type(statement, 5) == SQLitePCL.raw.SQLITE_BLOB)
                {
                    var blob = SQLitePCL.raw.sqlite3_column_blob(statement, 5);
                    if (blob.Length == codeBytes)
                    {
                        code = blob;
                    }
                }

                var metadata = json.SequenceEqual("{}"u8)
                    ? EmptyMetadata
                    : JsonMetadata.LooksLikeObject(json)
                        ? new JsonMetadata(json.ToArray(), Path, id)
                        : throw new IndexFileException(Path, $"the metadata of record '{id}' is not a JSON object of strings.");
                var row = new RecordRow(rowid, id, metadata, checksum, code);
                if (!vectors)
                {
                    done(row, []);
                    continue;
                }

                var vector = SQLitePCL.raw.sqlite3_column_blob(statement, 6);
                CheckVector(id, vector, checksum);
                var bytes = target!(row)[..expected];
                vector.CopyTo(bytes);
                done(row, bytes);
            }
        }
    }

    /// <summary>
    /// Reads the vector of the record at <paramref name="rowid"/> into <paramref name="destination"/> after checking
    /// it; <see langword="false"/> when no record with that rowid and id is committed (deleted, or not yet committed).
    /// Reading many rows: call it inside one read transaction, in rowid order.
    /// </summary>
    /// <exception cref="IndexFileException">The vector has the wrong length or fails its checksum (the message names the record).</exception>
    public bool TryReadVector(long rowid, string id, Span<byte> destination)
    {
        var db = _connection.Handle!;
        if (_vectorStatement is null)
        {
            SqliteException.ThrowExceptionForRC(SQLitePCL.raw.sqlite3_prepare_v3(db, "SELECT id, checksum, vector FROM records WHERE rowid = ?1", SQLitePCL.raw.SQLITE_PREPARE_PERSISTENT, out var prepared), db);
            _vectorStatement = prepared;
        }

        var statement = _vectorStatement;
        try
        {
            SqliteException.ThrowExceptionForRC(SQLitePCL.raw.sqlite3_bind_int64(statement, 1, rowid), db);
            var rc = SQLitePCL.raw.sqlite3_step(statement);
            if (rc == SQLitePCL.raw.SQLITE_DONE)
            {
                return false;
            }

            if (rc != SQLitePCL.raw.SQLITE_ROW)
            {
                SqliteException.ThrowExceptionForRC(rc, db);
            }

            if (SQLitePCL.raw.sqlite3_column_type(statement, 0) != SQLitePCL.raw.SQLITE_TEXT
                || !SQLitePCL.raw.sqlite3_column_blob(statement, 0).SequenceEqual(Encoding.UTF8.GetBytes(id)))
            {
                // The rowid now belongs to another record (ours was deleted and its rowid reused).
                return false;
            }

            if (SQLitePCL.raw.sqlite3_column_type(statement, 1) != SQLitePCL.raw.SQLITE_INTEGER)
            {
                throw new IndexFileException(Path, $"record '{id}' has a missing or malformed column (checksum is NULL or not an integer). Delete the record (see docs/storage.md) or rebuild the index.");
            }

            var vector = SQLitePCL.raw.sqlite3_column_blob(statement, 2);
            CheckVector(id, vector, SQLitePCL.raw.sqlite3_column_int64(statement, 1));
            vector.CopyTo(destination);
            return true;
        }
        finally
        {
            SQLitePCL.raw.sqlite3_reset(statement);
        }
    }

    private void CheckVector(string id, ReadOnlySpan<byte> vector, long checksum)
    {
        if (vector.Length != RowBytes)
        {
            throw new IndexFileException(Path, $"the vector of record '{id}' has {vector.Length} bytes, not the {RowBytes} of {Dimension} {PrecisionName(Precision)} values. Delete the record (see docs/storage.md) or rebuild the index.");
        }

        if (Checksum(vector) != checksum)
        {
            throw new IndexFileException(Path, $"the vector of record '{id}' is corrupt (checksum mismatch). Delete the record (see docs/storage.md) and index its image again, or restore the index from a backup.");
        }
    }

    /// <summary>A non-NULL text column of the current row, or an <see cref="IndexFileException"/> naming the column.</summary>
    private string TextColumn(SQLitePCL.sqlite3_stmt statement, int column, string name)
    {
        if (SQLitePCL.raw.sqlite3_column_type(statement, column) != SQLitePCL.raw.SQLITE_TEXT)
        {
            throw new IndexFileException(Path, $"a record has a missing or malformed column ({name} is NULL or not text). Restore the index from a backup or rebuild it.");
        }

        return Encoding.UTF8.GetString(SQLitePCL.raw.sqlite3_column_blob(statement, column));
    }

    /// <summary>Reads the ids deleted after <paramref name="afterSeq"/>.</summary>
    public List<string> ReadDeletions(long afterSeq)
    {
        var command = Prepared("SELECT id FROM deletions WHERE seq > $after");
        command.Parameters.Clear();
        command.Parameters.AddWithValue("$after", afterSeq);
        var ids = new List<string>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    /// <summary>Reads one record's vector bytes and metadata, or returns <see langword="false"/> when it is not stored.</summary>
    public bool TryReadRecord(string id, byte[] vector, out IReadOnlyDictionary<string, string> metadata) => TryReadRecord(id, vector, out metadata, out _);

    /// <summary>Reads one record's vector bytes, metadata and rowid, or returns <see langword="false"/> when it is not stored.</summary>
    public bool TryReadRecord(string id, byte[] vector, out IReadOnlyDictionary<string, string> metadata, out long rowid)
    {
        var command = Prepared("SELECT checksum, metadata, vector, rowid FROM records WHERE id = $id");
        command.Parameters.Clear();
        command.Parameters.AddWithValue("$id", id);
        using var reader = command.ExecuteReader();
        metadata = EmptyMetadata;
        rowid = 0;
        if (!reader.Read())
        {
            return false;
        }

        rowid = reader.GetInt64(3);

        if (reader.GetBytes(2, 0, null, 0, 0) != vector.Length)
        {
            throw new IndexFileException(Path, $"the vector of record '{id}' has the wrong length.");
        }

        reader.GetBytes(2, 0, vector, 0, vector.Length);
        if (Checksum(vector) != reader.GetInt64(0))
        {
            throw new IndexFileException(Path, $"the vector of record '{id}' is corrupt (checksum mismatch).");
        }

        metadata = ParseMetadata(reader.GetString(1)) ?? throw new IndexFileException(Path, $"the metadata of record '{id}' is not a JSON object of strings.");
        return true;
    }

    /// <summary>Inserts or replaces a record; returns its rowid (kept by a replace) and its checksum.</summary>
    public (long Rowid, long Checksum) Upsert(string id, long seq, ReadOnlySpan<byte> vector, string metadataJson)
    {
        var command = Prepared(
            "INSERT INTO records (id, seq, checksum, metadata, vector) VALUES ($id, $seq, $checksum, $metadata, $vector) "
            + "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, checksum = excluded.checksum, metadata = excluded.metadata, vector = excluded.vector "
            + "RETURNING rowid");
        var checksum = Checksum(vector);
        command.Parameters.Clear();
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$seq", seq);
        command.Parameters.AddWithValue("$checksum", checksum);
        command.Parameters.AddWithValue("$metadata", metadataJson);
        command.Parameters.Add("$vector", SqliteType.Blob).Value = vector.ToArray();
        var rowid = (long)command.ExecuteScalar()!;

        var undelete = Prepared("DELETE FROM deletions WHERE id = $id");
        undelete.Parameters.Clear();
        undelete.Parameters.AddWithValue("$id", id);
        undelete.ExecuteNonQuery();
        return (rowid, checksum);
    }

    /// <summary>
    /// Makes sure the <c>binary_codes</c> table exists and is marked with this library's layout (inside a write
    /// transaction). Codes of another layout are dropped: the caller writes every code again.
    /// </summary>
    /// <returns><see langword="true"/> when the table had to be created or reset (it holds no code then).</returns>
    public bool EnsureCodesTable()
    {
        if (HasUsableCodes)
        {
            return false;
        }

        Execute(CodesTable);
        Execute("DELETE FROM binary_codes");
        SetStoreProperty(BinaryCodeLayoutKey, BinaryCodes.Layout);
        HasUsableCodes = true;
        return true;
    }

    /// <summary>Creates the covering index <c>records_head</c> when the file lacks it (inside a write transaction; reads the table once).</summary>
    public void EnsureHeadIndex()
    {
        if (!HasHeadIndex)
        {
            Execute(HeadIndex);
            HasHeadIndex = true;
        }
    }

    /// <summary>Writes the binary code of the record at <paramref name="rowid"/> (inside a write transaction, after <see cref="EnsureCodesTable"/>).</summary>
    public void WriteCode(long rowid, long checksum, ReadOnlySpan<byte> code)
    {
        var command = Prepared("INSERT INTO binary_codes (record, checksum, code) VALUES ($record, $checksum, $code) ON CONFLICT (record) DO UPDATE SET checksum = excluded.checksum, code = excluded.code");
        command.Parameters.Clear();
        command.Parameters.AddWithValue("$record", rowid);
        command.Parameters.AddWithValue("$checksum", checksum);
        command.Parameters.Add("$code", SqliteType.Blob).Value = code.ToArray();
        command.ExecuteNonQuery();
    }

    /// <summary>Deletes every binary code (inside a write transaction), before all are written again.</summary>
    public void ClearCodes()
    {
        if (HasUsableCodes)
        {
            Execute("DELETE FROM binary_codes");
        }
    }

    /// <summary>Records the default candidate count of two-stage search, or removes it (inside a write transaction).</summary>
    public void SetTwoStageCandidates(int? candidates)
    {
        if (candidates is { } c)
        {
            SetStoreProperty(TwoStageCandidatesKey, c.ToString(CultureInfo.InvariantCulture));
        }
        else
        {
            var command = Prepared("DELETE FROM properties WHERE scope = 'store' AND key = $key");
            command.Parameters.Clear();
            command.Parameters.AddWithValue("$key", TwoStageCandidatesKey);
            command.ExecuteNonQuery();
        }

        TwoStageCandidates = candidates;
    }

    public bool Delete(string id, long seq)
    {
        var command = Prepared("DELETE FROM records WHERE id = $id RETURNING rowid");
        command.Parameters.Clear();
        command.Parameters.AddWithValue("$id", id);
        if (command.ExecuteScalar() is not long rowid)
        {
            return false;
        }

        if (HasUsableCodes)
        {
            var code = Prepared("DELETE FROM binary_codes WHERE record = $record");
            code.Parameters.Clear();
            code.Parameters.AddWithValue("$record", rowid);
            code.ExecuteNonQuery();
        }

        var tombstone = Prepared("INSERT INTO deletions (id, seq) VALUES ($id, $seq) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq");
        tombstone.Parameters.Clear();
        tombstone.Parameters.AddWithValue("$id", id);
        tombstone.Parameters.AddWithValue("$seq", seq);
        tombstone.ExecuteNonQuery();
        return true;
    }

    /// <summary>Stamps a write transaction: the next change seq and the update time. Call inside BEGIN IMMEDIATE.</summary>
    public long NextSeq(DateTimeOffset updated)
    {
        ReadHeader();
        var seq = ChangeSeq + 1;
        SetStoreProperty("change_seq", seq.ToString(CultureInfo.InvariantCulture));
        SetStoreProperty("updated_utc", updated.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        ChangeSeq = seq;
        UpdatedUtc = updated;
        return seq;
    }

    /// <summary>Writes the user properties that differ from <paramref name="persisted"/> (and deletes the ones removed).</summary>
    public void WriteUserProperties(IEnumerable<KeyValuePair<string, string>> current, IReadOnlyDictionary<string, string> persisted)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, value) in current)
        {
            seen.Add(key);
            if (!persisted.TryGetValue(key, out var old) || old != value)
            {
                SetProperty("user", key, value);
            }
        }

        foreach (var key in persisted.Keys.Where(k => !seen.Contains(k)))
        {
            var command = Prepared("DELETE FROM properties WHERE scope = 'user' AND key = $key");
            command.Parameters.Clear();
            command.Parameters.AddWithValue("$key", key);
            command.ExecuteNonQuery();
        }
    }

    /// <summary>Ends bulk mode: the file is switched to WAL (a setting kept in the file) for everyone who opens it.</summary>
    public void FinishBulk() => Execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");

    /// <summary>Copies committed WAL pages into the database file without waiting for readers.</summary>
    public void Checkpoint() => Execute("PRAGMA wal_checkpoint(PASSIVE)");

    public void Dispose()
    {
        _vectorStatement?.Dispose();
        _vectorStatement = null;
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        _commands.Clear();
        _connection.Dispose();
    }

    private static readonly IReadOnlyDictionary<string, string> EmptyMetadata = new Dictionary<string, string>(0);

    private static SqliteConnection Connect(string path, SqliteOpenMode mode, bool immutable)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = immutable ? new Uri(path).AbsoluteUri + "?immutable=1" : path,
            Mode = mode,
            Pooling = false,
            DefaultTimeout = 60,
        };
        var connection = new SqliteConnection(builder.ToString());
        try
        {
            connection.Open();
            using var command = connection.CreateCommand();

            // synchronous=FULL: a commit is on disk when it returns (NORMAL would risk the last commits on power loss).
            command.CommandText = string.Create(CultureInfo.InvariantCulture, $"PRAGMA busy_timeout = 60000; PRAGMA synchronous = FULL; PRAGMA mmap_size = {MmapSize};");
            command.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static DateTimeOffset ParseTime(Dictionary<string, string> store, string key)
        => DateTimeOffset.TryParse(store.GetValueOrDefault(key), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)
            ? t
            : DateTimeOffset.UnixEpoch;

    private Dictionary<string, string>? ReadProperties(string scope)
    {
        var id = Scalar("PRAGMA application_id");
        if (id is not long appId || appId != ApplicationId)
        {
            throw new IndexFileException(Path, $"it is an SQLite database but not an ImageSimilarity vector index (application id {id}).");
        }

        if (Scalar("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'properties'") is not 1L)
        {
            return null;
        }

        var command = Prepared("SELECT key, value FROM properties WHERE scope = $scope");
        command.Parameters.Clear();
        command.Parameters.AddWithValue("$scope", scope);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            result[reader.GetString(0)] = reader.GetString(1);
        }

        return result;
    }

    /// <summary>Records the binary-code medians (inside a write transaction).</summary>
    public void SetBinaryMedians(string medians)
    {
        SetStoreProperty(BinaryMediansKey, medians);
        BinaryMedians = medians;
    }

    private void SetStoreProperty(string key, string value) => SetProperty("store", key, value);

    private void SetProperty(string scope, string key, string value)
    {
        var command = Prepared("INSERT INTO properties (scope, key, value) VALUES ($scope, $key, $value) ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value");
        command.Parameters.Clear();
        command.Parameters.AddWithValue("$scope", scope);
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$value", value);
        command.ExecuteNonQuery();
    }

    private object? Scalar(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private SqliteCommand Prepared(string sql)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = _connection.CreateCommand();
            command.CommandText = sql;
            _commands.Add(sql, command);
        }

        return command;
    }
}

/// <summary>One record as <see cref="SqliteIndex.ReadRecords(long, long, long, bool, RecordTarget?, RecordDone, CancellationToken)"/> reads it.</summary>
internal readonly ref struct RecordRow(long rowid, string id, IReadOnlyDictionary<string, string> metadata, long checksum, ReadOnlySpan<byte> code)
{
    /// <summary>Gets the record's rowid.</summary>
    public long Rowid { get; } = rowid;

    /// <summary>Gets the record id.</summary>
    public string Id { get; } = id;

    /// <summary>Gets the metadata (parsed lazily).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; } = metadata;

    /// <summary>Gets the checksum of the vector blob.</summary>
    public long Checksum { get; } = checksum;

    /// <summary>Gets the stored binary code when it is valid and current; empty otherwise.</summary>
    public ReadOnlySpan<byte> Code { get; } = code;
}

/// <summary>Where a record's vector bytes go (a row of the store's blocks, or a scratch buffer).</summary>
internal delegate Span<byte> RecordTarget(in RecordRow row);

/// <summary>Called once per record read, with its vector bytes (empty when vectors are not read).</summary>
internal delegate void RecordDone(in RecordRow row, ReadOnlySpan<byte> vector);
