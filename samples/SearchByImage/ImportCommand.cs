using System.Buffers.Binary;
using System.CommandLine;
using ImageSimilarity.Storage;
using SearchByImage.Postgres;

namespace SearchByImage;

/// <summary>
/// <c>import &lt;vectors&gt;</c>: store feature vectors computed elsewhere (a Python index saved with NumPy, or the Keras
/// VGG16 fc2 features shipped with the seed sample as raw float32) in an index, so they can be searched with
/// <c>search --id</c>, or with <c>search &lt;image&gt;</c> when the model id is the one the extractor makes.
/// <c>import &lt;old.isvs&gt;</c>: copy an index of the old single-file format into an index (the old file is kept).
/// </summary>
internal static class ImportCommand
{
    public static Command Create()
    {
        var vectors = new Argument<string>("vectors")
        {
            Description = "The vectors: a NumPy .npy (2-D float array, one row per image), a .npz (one 2-D float array, and optionally a 1-D string array of names), or raw little-endian float32 rows; or an old-format index file (.isvs) to convert.",
        };
        var names = new Option<string?>("--names") { Description = "The id (image file name) of each row, in order: a text file with one per line, or a .npy string array. Optional when the .npz holds the names." };
        var images = new Option<string?>("--images") { Description = "The folder of the images, recorded as each record's path (for --sheet/--html)." };
        var modelId = new Option<string?>("--model-id")
        {
            Description = "The model that made the vectors; an index holds vectors of one model (not for .isvs). For Keras' official VGG16 file with the keras-caffe preset: vgg16-fc2/keras-64373286/keras-caffe.",
        };
        var index = new Option<string?>("--index") { Description = $"Index file. Default: ${CliDefaults.IndexEnvironmentVariable}, else {CliDefaults.IndexPath}." };
        var command = new Command("import", "Store vectors computed elsewhere (a Python index: .npy/.npz, or raw float32 rows, plus names) in an index, or convert an old-format index (.isvs).") { vectors, names, images, modelId, index };
        var stores = new PostgresStoreOptions();
        stores.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => CommandErrors.RunAsync(() =>
        {
            var source = parseResult.GetRequiredValue(vectors);
            var target = parseResult.GetValue(index) ?? CliDefaults.IndexPath;
            if (IsOldIndex(source))
            {
                return ConvertAsync(source, target, cancellationToken);
            }

            return RunAsync(
                parseResult,
                stores,
                source,
                parseResult.GetValue(names),
                parseResult.GetValue(images),
                parseResult.GetValue(modelId),
                target,
                cancellationToken);
        }));
        return command;
    }

    private static bool IsOldIndex(string path)
    {
        Span<byte> start = stackalloc byte[4];
        using var stream = File.OpenRead(path);
        return stream.Read(start) == 4 && start.SequenceEqual("ISVS"u8);
    }

    /// <summary>Copies every record and property of an old-format index into the target index (created when missing).</summary>
    private static async Task<int> ConvertAsync(string oldPath, string indexPath, CancellationToken cancellationToken)
    {
        if (string.Equals(Path.GetFullPath(oldPath), Path.GetFullPath(indexPath), StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{oldPath}' is both the old index and the target: pass another --index (or run 'index' on it, which upgrades it in place)");
        }

        IndexFile.EnsureWritable(indexPath);
        await using var old = await EmbeddedVectorStore.OpenAsync(oldPath, null, cancellationToken).ConfigureAwait(false);
        await using var store = await EmbeddedVectorStore.OpenOrCreateAsync(indexPath, old.Dimension, old.ModelId, new EmbeddedVectorStoreOptions { Precision = old.Precision }, cancellationToken).ConfigureAwait(false);
        foreach (var (key, value) in old.Properties)
        {
            store.Properties[key] = value;
        }

        var ids = old.GetIds();
        for (var start = 0; start < ids.Count; start += 1000)
        {
            var batch = new List<VectorRecord>(1000);
            foreach (var id in ids.Skip(start).Take(1000))
            {
                batch.Add((await old.GetAsync(id, cancellationToken).ConfigureAwait(false))!);
            }

            await store.UpsertAsync(batch, cancellationToken).ConfigureAwait(false);
        }

        await store.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        Console.WriteLine($"converted {ids.Count} vectors of {old.Dimension} floats from {Path.GetFullPath(oldPath)} into {Path.GetFullPath(indexPath)} (model '{old.ModelId}'); the old file is unchanged");
        return 0;
    }

    private static async Task<int> RunAsync(ParseResult parseResult, PostgresStoreOptions stores, string vectorsPath, string? namesPath, string? imagesFolder, string? modelIdOption, string indexPath, CancellationToken cancellationToken)
    {
        string[] ids;
        float[][] rows;
        try
        {
            (ids, rows) = await ReadAsync(vectorsPath, namesPath, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or FormatException or OverflowException)
        {
            throw new ArgumentException(ex.Message, ex);
        }

        var modelId = modelIdOption ?? throw new ArgumentException("--model-id is required to import vectors (for Keras' VGG16 file with the keras-caffe preset: vgg16-fc2/keras-64373286/keras-caffe)");
        var dimension = rows[0].Length;
        var records = new List<VectorRecord>(ids.Length);
        for (var row = 0; row < ids.Length; row++)
        {
            var vector = rows[row];
            var metadata = imagesFolder is null
                ? null
                : new Dictionary<string, string> { [RecordMetadata.Path] = Path.GetFullPath(Path.Combine(imagesFolder, ids[row])) };
            records.Add(new VectorRecord(ids[row], vector, metadata));
        }

        if (stores.IsPostgres(parseResult))
        {
            return await PostgresImport.RunAsync(parseResult, stores, dimension, modelId, records, cancellationToken).ConfigureAwait(false);
        }

        IndexFile.EnsureWritable(indexPath);
        await using var store = await EmbeddedVectorStore.OpenOrCreateAsync(indexPath, dimension, modelId, null, cancellationToken).ConfigureAwait(false);
        var preset = IndexSettings.PresetOf(new Dictionary<string, string>(), modelId);
        if (preset is not null)
        {
            // search <image> then preprocesses queries as the imported vectors were made.
            store.Properties[IndexProperties.Preset] = preset;
        }

        // In chunks, so a Ctrl-C or SIGTERM keeps (and saves) what was stored so far.
        var stored = 0;
        try
        {
            foreach (var chunk in records.Chunk(10_000))
            {
                await store.UpsertAsync(chunk, cancellationToken).ConfigureAwait(false);
                stored += chunk.Length;
            }

            await store.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex)
        {
            await store.SaveChangesAsync(CancellationToken.None).ConfigureAwait(false);
            var kept = await store.CountAsync(CancellationToken.None).ConfigureAwait(false);
            throw new CommandCancelledException($"kept {kept} images in '{indexPath}' ({stored} of the {ids.Length} vectors were imported and saved)", ex);
        }

        Console.WriteLine($"imported {ids.Length} vectors of {dimension} floats into {Path.GetFullPath(indexPath)} (model '{modelId}', preset {preset ?? "unknown"})");
        return 0;
    }

    /// <summary>
    /// The names and vectors: a .npy (2-D float array) or .npz (one 2-D float array, optionally a 1-D string array of
    /// names) written by NumPy, or raw little-endian float32 rows; names from <paramref name="namesPath"/> (one per line,
    /// or a .npy string array) unless the .npz holds them.
    /// </summary>
    private static async Task<(string[] Ids, float[][] Rows)> ReadAsync(string vectorsPath, string? namesPath, CancellationToken cancellationToken)
    {
        var head = new byte[8];
        await using (var probe = File.OpenRead(vectorsPath))
        {
            await probe.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        }

        var ids = namesPath is null ? null : await ReadNamesAsync(namesPath, cancellationToken).ConfigureAwait(false);
        float[][] rows;
        if (NumpyFile.IsNpy(head) || NumpyFile.IsZip(head))
        {
            var arrays = NumpyFile.ReadAll(vectorsPath);
            var floats = arrays.Where(a => a.IsFloat && a.Shape.Length == 2).ToList();
            if (floats.Count != 1)
            {
                throw new ArgumentException($"'{vectorsPath}' must hold exactly one 2-D float array of vectors; it holds: {Describe(arrays)}");
            }

            rows = floats[0].ToRows();
            if (ids is null)
            {
                var texts = arrays.Where(a => a.IsText && a.Shape.Length == 1).ToList();
                ids = texts.Count == 1
                    ? texts[0].ToStrings()
                    : throw new ArgumentException($"'{vectorsPath}' holds {(texts.Count == 0 ? "no" : "several")} 1-D string arrays ({Describe(arrays)}): pass --names <file> with one name per row");
            }
        }
        else
        {
            if (ids is null)
            {
                throw new ArgumentException($"'{vectorsPath}' is raw float32 rows: pass --names <file> with one name per row");
            }

            var bytes = await File.ReadAllBytesAsync(vectorsPath, cancellationToken).ConfigureAwait(false);
            if (ids.Length == 0 || bytes.Length % (ids.Length * sizeof(float)) != 0)
            {
                throw new ArgumentException($"'{vectorsPath}' holds {bytes.Length} bytes, which is not {ids.Length} rows of float32 (one per name in '{namesPath}')");
            }

            var dimension = bytes.Length / sizeof(float) / ids.Length;
            rows = new float[ids.Length][];
            for (var row = 0; row < ids.Length; row++)
            {
                rows[row] = new float[dimension];
                for (var i = 0; i < dimension; i++)
                {
                    rows[row][i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(((row * dimension) + i) * sizeof(float)));
                }
            }
        }

        if (ids.Length != rows.Length || rows.Length == 0 || rows[0].Length == 0)
        {
            throw new ArgumentException($"'{vectorsPath}' holds {rows.Length} vectors but there are {ids.Length} names{(namesPath is null ? string.Empty : $" in '{namesPath}'")}: they must match one to one, in order");
        }

        if (ids.Distinct(StringComparer.Ordinal).Count() != ids.Length)
        {
            var duplicate = ids.GroupBy(i => i, StringComparer.Ordinal).First(g => g.Count() > 1).Key;
            throw new ArgumentException($"the name '{duplicate}' appears more than once; every vector needs its own name");
        }

        return (ids, rows);
    }

    private static async Task<string[]> ReadNamesAsync(string namesPath, CancellationToken cancellationToken)
    {
        var head = new byte[8];
        await using (var probe = File.OpenRead(namesPath))
        {
            await probe.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        }

        if (NumpyFile.IsNpy(head))
        {
            var arrays = NumpyFile.ReadAll(namesPath);
            return arrays[0].ToStrings();
        }

        return (await File.ReadAllLinesAsync(namesPath, cancellationToken).ConfigureAwait(false)).Where(l => l.Length > 0).ToArray();
    }

    private static string Describe(IReadOnlyList<NumpyArray> arrays)
        => string.Join(", ", arrays.Select(a => $"'{a.Name}' {a.Descr} {a.ShapeText}"));
}
