using System.Buffers.Binary;
using System.CommandLine;
using ImageSimilarity.Storage;

namespace SearchByImage;

/// <summary>
/// <c>import &lt;vectors.f32&gt;</c>: store feature vectors computed elsewhere (for example the Keras VGG16 fc2 features
/// shipped with the seed sample) in an index, so they can be searched with <c>search --id</c>.
/// </summary>
internal static class ImportCommand
{
    public static Command Create()
    {
        var vectors = new Argument<string>("vectors") { Description = "Raw little-endian float32 rows, one vector per name." };
        var names = new Option<string>("--names") { Description = "A text file with one id (image file name) per row, in order.", Required = true };
        var images = new Option<string?>("--images") { Description = "The folder of the images, recorded as each record's path (for --sheet/--html)." };
        var modelId = new Option<string>("--model-id") { Description = "The model that made the vectors; an index holds vectors of one model.", Required = true };
        var index = new Option<string?>("--index") { Description = $"Index file. Default: ${CliDefaults.IndexEnvironmentVariable}, else {CliDefaults.IndexPath}." };
        var command = new Command("import", "Store vectors computed elsewhere (raw float32 rows + names) in an index.") { vectors, names, images, modelId, index };
        command.SetAction((parseResult, cancellationToken) => CommandErrors.RunAsync(() => RunAsync(
            parseResult.GetRequiredValue(vectors),
            parseResult.GetRequiredValue(names),
            parseResult.GetValue(images),
            parseResult.GetRequiredValue(modelId),
            parseResult.GetValue(index) ?? CliDefaults.IndexPath,
            cancellationToken)));
        return command;
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
        IndexFile.EnsureWritable(indexPath);
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

        // In chunks, so a Ctrl-C or SIGTERM keeps (and saves) what was stored so far.
        int stored = 0;
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

        Console.WriteLine($"imported {ids.Length} vectors of {dimension} floats into {Path.GetFullPath(indexPath)} (model '{modelId}')");
        return 0;
    }
}
