using System.Buffers.Binary;
using System.CommandLine;
using System.Text.Json;
using ImageSimilarity.Extraction;
using ImageSimilarity.Imaging;

namespace SearchByImage;

/// <summary><c>extract &lt;image&gt;...</c>: one vector per image (VGG16 fc2 by default, or --model), as JSON or raw little-endian float32 rows.</summary>
internal static class ExtractCommand
{
    public static Command Create()
    {
        var images = new Argument<string[]>("image")
        {
            Description = "Image files (JPEG, PNG, WebP, GIF, BMP; detected by content).",
            Arity = ArgumentArity.OneOrMore,
        };
        var model = new ModelOptions();
        var selection = new ModelSelection(fromIndex: false);
        var json = new Option<bool>("--json") { Description = "Write JSON (file name and vector per image) instead of raw float32 rows." };
        var output = new Option<string?>("--output", "-o") { Description = "Write to this file instead of standard output." };

        var command = new Command("extract", "Extract one feature vector per image: 4096 floats of VGG16 fc2 by default, 512 with --model resnet18.")
        {
            images, json, output,
        };
        model.AddTo(command);
        selection.AddTo(command);
        command.SetAction((parseResult, cancellationToken) => CommandErrors.RunAsync(() => RunAsync(
            parseResult,
            parseResult.GetRequiredValue(images),
            model,
            selection,
            parseResult.GetValue(json),
            parseResult.GetValue(output),
            cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(
        ParseResult parseResult,
        string[] images,
        ModelOptions model,
        ModelSelection selection,
        bool json,
        string? output,
        CancellationToken cancellationToken)
    {
        if (!json && output is null && !Console.IsOutputRedirected)
        {
            throw new ArgumentException("refusing to write binary float32 rows to the terminal: use --json, --output <file> or redirect standard output");
        }

        foreach (var image in images)
        {
            if (!File.Exists(image))
            {
                throw new IOException($"image file '{image}' does not exist");
            }
        }

        var loaded = await selection.LoadAsync(selection.Resolve(parseResult, null, null), parseResult, model, model.Read(parseResult), null, new DownloadProgress(), cancellationToken).ConfigureAwait(false);
        using var extractor = loaded.Extractor;
        var vectors = await extractor.ExtractAsync(images.Select(ImageInput.FromFile).ToList(), cancellationToken).ConfigureAwait(false);

        var stream = output is null ? Console.OpenStandardOutput() : new FileStream(output, FileMode.Create, FileAccess.Write);
        await using (stream.ConfigureAwait(false))
        {
            if (json)
            {
                await WriteJsonAsync(stream, extractor, images, vectors, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await WriteRawAsync(stream, vectors, cancellationToken).ConfigureAwait(false);
            }
        }

        return 0;
    }

    private static async Task WriteJsonAsync(Stream stream, IFeatureExtractor extractor, string[] images, IReadOnlyList<float[]> vectors, CancellationToken cancellationToken)
    {
        var writer = new Utf8JsonWriter(stream);
        await using (writer.ConfigureAwait(false))
        {
            writer.WriteStartObject();
            writer.WriteString("model", extractor.ModelId);
            writer.WriteNumber("dimension", extractor.Dimension);
            writer.WriteStartArray("items");
            for (var i = 0; i < images.Length; i++)
            {
                writer.WriteStartObject();
                writer.WriteString("file", images[i]);
                writer.WriteStartArray("vector");
                foreach (var v in vectors[i])
                {
                    writer.WriteNumberValue(v);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
                if (writer.BytesPending > 1 << 16)
                {
                    await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        await stream.WriteAsync("\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
    }

    private static async Task WriteRawAsync(Stream stream, IReadOnlyList<float[]> vectors, CancellationToken cancellationToken)
    {
        foreach (var vector in vectors)
        {
            var row = new byte[vector.Length * sizeof(float)];
            for (var i = 0; i < vector.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(row.AsSpan(i * sizeof(float)), vector[i]);
            }

            await stream.WriteAsync(row, cancellationToken).ConfigureAwait(false);
        }
    }
}
