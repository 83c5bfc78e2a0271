using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;

namespace SearchByImage;

/// <summary>One array of a NumPy <c>.npy</c> file (or of a <c>.npz</c> archive of them): its dtype, shape and raw bytes.</summary>
internal sealed partial record NumpyArray(string Name, string Descr, int[] Shape, bool FortranOrder, byte[] Data)
{
    public bool IsFloat => Descr is "<f4" or "<f8" or "<f2";

    public bool IsText => Descr.Length > 2 && (Descr[..2] is "<U" or "|S");

    public string ShapeText => "(" + string.Join(", ", Shape) + ")";

    /// <summary>The rows of a 2-D float array (float64/float16 converted to float32), in C order whatever the file's order.</summary>
    public float[][] ToRows()
    {
        if (!IsFloat || Shape.Length != 2)
        {
            throw new InvalidDataException($"array '{Name}' is {Descr} {ShapeText}; vectors must be a 2-D float32/float64/float16 array (rows = images)");
        }

        int rows = Shape[0], cols = Shape[1], size = Descr == "<f8" ? 8 : Descr == "<f4" ? 4 : 2;
        var result = new float[rows][];
        for (var r = 0; r < rows; r++)
        {
            var row = result[r] = new float[cols];
            for (var c = 0; c < cols; c++)
            {
                var index = FortranOrder ? ((long)c * rows) + r : ((long)r * cols) + c;
                var bytes = Data.AsSpan(checked((int)(index * size)), size);
                row[c] = size switch
                {
                    8 => (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes),
                    4 => BinaryPrimitives.ReadSingleLittleEndian(bytes),
                    _ => (float)BinaryPrimitives.ReadHalfLittleEndian(bytes),
                };
            }
        }

        return result;
    }

    /// <summary>The strings of a 1-D text array (<c>&lt;U</c>: UTF-32, <c>|S</c>: bytes, both padded with NULs).</summary>
    public string[] ToStrings()
    {
        if (!IsText || Shape.Length != 1)
        {
            throw new InvalidDataException($"array '{Name}' is {Descr} {ShapeText}; names must be a 1-D string array (numpy dtype <U or S)");
        }

        var width = int.Parse(Descr.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture);
        var utf32 = Descr[0] == '<';
        var itemBytes = utf32 ? width * 4 : width;
        var result = new string[Shape[0]];
        for (var i = 0; i < result.Length; i++)
        {
            var item = Data.AsSpan(i * itemBytes, itemBytes);
            result[i] = (utf32 ? Encoding.UTF32.GetString(item) : Encoding.UTF8.GetString(item)).TrimEnd('\0');
        }

        return result;
    }

    [GeneratedRegex(@"'descr'\s*:\s*'(?<descr>[^']*)'")]
    internal static partial Regex DescrPattern();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(?<order>True|False)")]
    internal static partial Regex OrderPattern();

    [GeneratedRegex(@"'shape'\s*:\s*\((?<shape>[^)]*)\)")]
    internal static partial Regex ShapePattern();
}

/// <summary>
/// Reads NumPy's <c>.npy</c> format (versions 1-3) and <c>.npz</c> archives (a zip of <c>.npy</c> files) without Python.
/// Arrays of Python objects (<c>dtype=object</c>, stored as pickles) are refused: loading them would run code.
/// </summary>
internal static class NumpyFile
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    public static bool IsNpy(ReadOnlySpan<byte> head) => head.StartsWith(Magic);

    public static bool IsZip(ReadOnlySpan<byte> head) => head.Length >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] == 3 && head[3] == 4;

    /// <summary>Reads every array of a .npy (one, named after the file) or .npz file (named by their keys).</summary>
    public static IReadOnlyList<NumpyArray> ReadAll(string path)
    {
        var head = new byte[8];
        using (var probe = File.OpenRead(path))
        {
            probe.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }

        if (IsNpy(head))
        {
            using var stream = File.OpenRead(path);
            return [Read(stream, Path.GetFileNameWithoutExtension(path), path)];
        }

        if (!IsZip(head))
        {
            throw new InvalidDataException($"'{path}' is neither a .npy nor a .npz file");
        }

        using var zip = ZipFile.OpenRead(path);
        var arrays = new List<NumpyArray>();
        foreach (var entry in zip.Entries.Where(e => e.FullName.EndsWith(".npy", StringComparison.Ordinal)))
        {
            using var stream = entry.Open();
            arrays.Add(Read(stream, entry.FullName[..^4], path));
        }

        return arrays.Count > 0 ? arrays : throw new InvalidDataException($"'{path}' is a zip file without .npy entries, not a .npz");
    }

    private static NumpyArray Read(Stream stream, string name, string path)
    {
        var prefix = new byte[8];
        stream.ReadExactly(prefix);
        if (!IsNpy(prefix))
        {
            throw new InvalidDataException($"'{path}': '{name}' is not in NumPy's .npy format");
        }

        int major = prefix[6];
        int headerLength;
        if (major == 1)
        {
            var b = new byte[2];
            stream.ReadExactly(b);
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(b);
        }
        else if (major is 2 or 3)
        {
            var b = new byte[4];
            stream.ReadExactly(b);
            headerLength = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(b));
        }
        else
        {
            throw new InvalidDataException($"'{path}': '{name}' uses .npy format version {major}, which is not known (1-3 are)");
        }

        if (headerLength > 1 << 20)
        {
            throw new InvalidDataException($"'{path}': '{name}' announces a {headerLength:N0}-byte header, which is not a NumPy header");
        }

        var header = new byte[headerLength];
        stream.ReadExactly(header);
        var text = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(header);
        var descr = NumpyArray.DescrPattern().Match(text);
        var order = NumpyArray.OrderPattern().Match(text);
        var shapeMatch = NumpyArray.ShapePattern().Match(text);
        if (!descr.Success || !order.Success || !shapeMatch.Success)
        {
            throw new InvalidDataException($"'{path}': the header of '{name}' cannot be read: {text.Trim()}");
        }

        var dtype = descr.Groups["descr"].Value;
        if (dtype.Contains('O', StringComparison.Ordinal))
        {
            throw new InvalidDataException(
                $"'{path}': '{name}' holds Python objects (dtype=object, stored as a pickle), which are never loaded because that could run code. "
                + "Save the vectors as a float array (np.save('vectors.npy', np.stack(features).astype('float32'))) and the names as a text file or a string array (np.array(names, dtype=str))");
        }

        var shape = shapeMatch.Groups["shape"].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture)).ToArray();
        var itemSize = dtype switch
        {
            "<f8" => 8,
            "<f4" => 4,
            "<f2" => 2,
            _ when dtype.Length > 2 && dtype[..2] == "<U" => 4 * int.Parse(dtype.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture),
            _ when dtype.Length > 2 && dtype[..2] == "|S" => int.Parse(dtype.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture),
            _ => throw new InvalidDataException($"'{path}': '{name}' has dtype '{dtype}'; vectors must be little-endian float32/float64/float16 and names strings"),
        };
        var bytes = shape.Aggregate((long)itemSize, (a, b) => checked(a * b));
        if (bytes > Array.MaxLength)
        {
            throw new InvalidDataException($"'{path}': '{name}' ({dtype}, shape ({string.Join(", ", shape)})) is larger than one import can hold ({bytes:N0} bytes)");
        }

        var data = new byte[bytes];
        var read = stream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
        if (read < data.Length)
        {
            throw new InvalidDataException($"'{path}': '{name}' is truncated: {read:N0} of {bytes:N0} data bytes are present");
        }

        return new NumpyArray(name, dtype, shape, order.Groups["order"].Value == "True", data);
    }
}
