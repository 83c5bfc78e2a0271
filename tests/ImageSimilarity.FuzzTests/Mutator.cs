using System.Buffers.Binary;

namespace ImageSimilarity.Fuzzing;

/// <summary>
/// Deterministic mutations of a seed file, the kinds that find parser bugs: bit flips, truncations, integer fields set
/// to extreme values (lengths, counts, offsets), byte runs inserted, removed or duplicated, and combinations of these.
/// </summary>
internal sealed class Mutator
{
    private static readonly ulong[] Extremes =
    [
        0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000,
        0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, ulong.MaxValue, 1UL << 30, 1UL << 31, (1UL << 31) - 1, 65_537,
    ];

    private readonly Random _random;

    public Mutator(int seed) => _random = new Random(seed);

    /// <summary>Gets the name of the last mutation, for failure reports.</summary>
    public string LastMutation { get; private set; } = string.Empty;

    public byte[] Mutate(byte[] seed)
    {
        // Mostly one mutation; sometimes a few stacked, which reaches states a single change cannot.
        var rounds = _random.Next(10) < 7 ? 1 : _random.Next(2, 5);
        var data = seed;
        var names = new List<string>(rounds);
        for (var i = 0; i < rounds; i++)
        {
            data = MutateOnce(data, out var name);
            names.Add(name);
        }

        LastMutation = string.Join(" + ", names);
        return data;
    }

    private byte[] MutateOnce(byte[] seed, out string name)
    {
        var data = (byte[])seed.Clone();
        if (data.Length == 0)
        {
            name = "grow";
            return [(byte)_random.Next(256)];
        }

        switch (_random.Next(8))
        {
            case 0:
            {
                var flips = 1 + _random.Next(8);
                for (var i = 0; i < flips; i++)
                {
                    data[_random.Next(data.Length)] ^= (byte)(1 << _random.Next(8));
                }

                name = $"flip {flips} bits";
                return data;
            }

            case 1:
            {
                var at = _random.Next(data.Length);
                name = $"truncate at {at}";
                return data[..at];
            }

            case 2:
            case 3:
            {
                // An integer field set to an extreme value, in either byte order and any width.
                var width = new[] { 1, 2, 4, 8 }[_random.Next(4)];
                if (data.Length < width)
                {
                    name = "flip (short)";
                    data[0] ^= 0xFF;
                    return data;
                }

                var at = _random.Next(data.Length - width + 1);
                var value = _random.Next(5) == 0 ? (ulong)_random.NextInt64() : Extremes[_random.Next(Extremes.Length)];
                var bigEndian = _random.Next(3) == 0;
                Span<byte> field = stackalloc byte[8];
                if (bigEndian)
                {
                    BinaryPrimitives.WriteUInt64BigEndian(field, value);
                    field[(8 - width)..].CopyTo(data.AsSpan(at, width));
                }
                else
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(field, value);
                    field[..width].CopyTo(data.AsSpan(at, width));
                }

                name = $"set {width}-byte {(bigEndian ? "BE" : "LE")} field at {at} to 0x{value:x}";
                return data;
            }

            case 4:
            {
                var at = _random.Next(data.Length);
                var value = (byte)new[] { 0x00, 0xFF, 0x7F, 0x80, _random.Next(256) }[_random.Next(5)];
                data[at] = value;
                name = $"set byte {at} to 0x{value:x2}";
                return data;
            }

            case 5:
            {
                var at = _random.Next(data.Length);
                var length = Math.Min(data.Length - at, 1 + _random.Next(64));
                name = $"remove {length} bytes at {at}";
                return [.. data.AsSpan(0, at), .. data.AsSpan(at + length)];
            }

            case 6:
            {
                var at = _random.Next(data.Length + 1);
                var inserted = new byte[1 + _random.Next(64)];
                _random.NextBytes(inserted);
                name = $"insert {inserted.Length} random bytes at {at}";
                return [.. data.AsSpan(0, at), .. inserted, .. data.AsSpan(at)];
            }

            default:
            {
                var from = _random.Next(data.Length);
                var length = Math.Min(data.Length - from, 1 + _random.Next(256));
                var to = _random.Next(data.Length + 1);
                name = $"duplicate {length} bytes from {from} at {to}";
                return [.. data.AsSpan(0, to), .. data.AsSpan(from, length), .. data.AsSpan(to)];
            }
        }
    }
}
