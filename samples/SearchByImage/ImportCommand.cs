using System.Buffers.Binary;
using System.CommandLine;
using ImageSimilarity.Storage;

namespace SearchByImage;

/// <summary>
/// <c>import &lt;vectors.f32&gt;</c>: store feature vectors computed elsewhere (for example the Keras VGG16 fc2 features
/// shipped with the seed sample) in an index, so they can be searched with <c>search --id</c>.
/// <c>import &lt;old.isvs&gt;</c>: copy an index of the old single-file format into an index (the old file is kept).
/// </summary>
internal static class ImportCommand
{
    public static Command Create()
    {
        var vectors = new Argument<string>("vectors") { Description = "Raw little-endian float32 rows, one vector per name; or an old-format index file (.isvs) to convert." };
        var names = new Option<string?>("--names") { Description = "A text file with one id (image file name) per row, in order (raw vectors only)." };
        var images = new Option<string?>("--images") { Description = "The folder of the images, recorded as each record's path (for --sheet/--html)." };
        var modelId = new Option<string?>("--model-id") { Description = "The model that made the vectors; an index holds vectors of one model (raw vectors only)." };
        var index = new Option<string?>("--index") { Description = $"Index file. Default: ${CliDefaults.IndexEnvironmentVariable}, else {CliDefaults.IndexPath}." };
        var command = new Command("import", "Store vectors computed elsewhere (raw float32 rows + names) in an index, or convert an old-format index (.isvs).") { vectors, names, images, modelId, index };
        command.SetAction((parseResult, cancellationToken) => CommandErrors.RunAsync(() =>
        {
            var source = parseResult.GetRequiredValue(vectors);
            var target = parseResult.GetValue(index) ?? CliDefaults.IndexPath;
            if (IsOldIndex(source))
            {
                return ConvertAsync(source, target, cancellationToken);
            }

            return RunAsync(
                source,
                parseResult.GetValue(names) ?? throw new ArgumentException("--names is required to import raw vectors"),
                parseResult.GetValue(images),
                parseResult.GetValue(modelId) ?? throw new ArgumentException("--model-id is required to import raw vectors"),
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

        await using var old = await EmbeddedVectorStore.OpenAsync(oldPath, null, cancellationToken).ConfigureAwait(false);
        await using var store = await EmbeddedVectorStore.OpenOrCreateAsync(indexPath, old.Dimension, old.ModelId, new EmbeddedVectorStoreOptions { Precision = old.Precision }, cancellationToken).ConfigureAwait(false);
        foreach (var (key, value) in old.Properties)
        {
            store.Properties[key] = value;
        }

        var ids = old.GetIds();
        for (int start = 0; start < ids.Count; start += 1000)
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

    private static async Task<int> RunAsync(string vectorsPath, string namesPath, string? imagesFolder, string modelId, string indexPath, CancellationToken cancellationToken)
    {
        var ids = (await File.ReadAllLinesAsync(namesPath, cancellationToken).ConfigureAwait(false)).Where(l => l.Length > 0).ToArray();
        var bytes = await File.ReadAllBytesAsync(vectorsPath, cancellationToken).ConfigureAwait(false);
        if (ids.Length == 0 || bytes.Length % (ids.Length * sizeof(float)) != 0)
        {
            throw new ArgumentException($"'{vectorsPath}' holds {bytes.Length} bytes, which is not {ids.Length} rows of float32 (one per name in '{namesPath}')");
        }

        int dimension = bytes.Length / sizeof(float) / ids.Length;
        await using var store = await EmbeddedVectorStore.OpenOrCreateAsync(indexPath, dimension, modelId, null, cancellationToken).ConfigureAwait(false);
        var records = new List<VectorRecord>(ids.Length);
        for (int row = 0; row < ids.Length; row++)
        {
            var vector = new float[dimension];
            for (int i = 0; i < dimension; i++)
            {
                vector[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(((row * dimension) + i) * sizeof(float)));
            }

            var metadata = imagesFolder is null
                ? null
                : new Dictionary<string, string> { [RecordMetadata.Path] = Path.GetFullPath(Path.Combine(imagesFolder, ids[row])) };
            records.Add(new VectorRecord(ids[row], vector, metadata));
        }

        await store.UpsertAsync(records, cancellationToken).ConfigureAwait(false);
        await store.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        Console.WriteLine($"imported {ids.Length} vectors of {dimension} floats into {Path.GetFullPath(indexPath)} (model '{modelId}')");
        return 0;
    }
}
