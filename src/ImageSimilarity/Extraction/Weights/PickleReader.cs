using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace ImageSimilarity.Extraction.Weights;

/// <summary>
/// A restricted unpickler: it understands only the opcodes and the few globals that a PyTorch state dict needs
/// and refuses everything else, so a crafted file can never make it call anything.
/// </summary>
/// <remarks>
/// Allowed globals: <c>collections.OrderedDict</c>, <c>torch._utils._rebuild_tensor_v2</c>,
/// <c>torch._utils._rebuild_tensor</c> and the <c>torch.*Storage</c> classes. "Calling" them builds plain data
/// (<see cref="PickleDict"/>, <see cref="PickledTensor"/>), never code. Python values map to: None -> null, bool,
/// int -> long (or <see cref="BigInteger"/>), float -> double, str -> string, bytes -> byte[], tuple -> object?[],
/// list -> List&lt;object?&gt;, dict/OrderedDict -> <see cref="PickleDict"/>.
/// </remarks>
internal sealed class PickleReader
{
    /// <summary>The most pickle bytes one <see cref="Load"/> reads: a VGG16 state dict's data.pkl is a few KB, so this is generous.</summary>
    internal const long MaxPickleBytes = 64L * 1024 * 1024;

    /// <summary>The most memo entries; a state dict memoizes a handful of objects per tensor.</summary>
    internal const int MaxMemoEntries = 1_000_000;

    /// <summary>The deepest the value stack may grow (a state dict's stack stays shallow: its items go into dicts).</summary>
    internal const int MaxStackDepth = 1_000_000;

    /// <summary>The most values one pickle may create or copy (each opcode that pushes counts), bounding memory whatever the opcodes.</summary>
    internal const int MaxValues = 4_000_000;

    private const int MaxStringBytes = 64 * 1024 * 1024;

    private readonly Stream _stream;
    private readonly string _fileName;
    private readonly Func<object?[], object> _persistentLoad;
    private readonly List<object?> _stack = [];
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = [];
    private long _budget;
    private int _values;

    /// <param name="stream">The pickle stream; reading stops right after the STOP opcode.</param>
    /// <param name="fileName">The file, for errors.</param>
    /// <param name="persistentLoad">Resolves a persistent id tuple (torch's storage references) to an object.</param>
    public PickleReader(Stream stream, string fileName, Func<object?[], object> persistentLoad)
    {
        _stream = stream;
        _fileName = fileName;
        _persistentLoad = persistentLoad;
    }

    /// <summary>Reads one pickle up to and including its STOP opcode and returns its value.</summary>
    public object? Load()
    {
        _stack.Clear();
        _marks.Clear();
        _memo.Clear();
        _budget = MaxPickleBytes;
        _values = 0;
        while (true)
        {
            var at = _stream.CanSeek ? _stream.Position : -1;
            if (_stack.Count > MaxStackDepth || _marks.Count > MaxStackDepth)
            {
                throw Fail($"the pickle's stack grows beyond {MaxStackDepth:N0} entries, which no state dict needs; refusing to load it");
            }

            if (_values > MaxValues)
            {
                throw Fail($"the pickle creates more than {MaxValues:N0} values, which no state dict needs; refusing to load it");
            }

            var op = ReadByte();

            switch (op)
            {
                case 0x80: // PROTO
                    var protocol = ReadByte();
                    if (protocol > 5)
                    {
                        throw Fail($"unsupported pickle protocol {protocol}");
                    }

                    break;
                case 0x95: // FRAME (framing is only a read-ahead hint)
                    ReadInt64();
                    break;
                case '.': // STOP
                    if (_stack.Count != 1)
                    {
                        throw Fail("malformed pickle: the stack does not hold exactly one value at STOP");
                    }

                    return _stack[0];
                case '(': // MARK
                    _marks.Push(_stack.Count);
                    break;
                case '}': // EMPTY_DICT
                    Push(new PickleDict());
                    break;
                case ']': // EMPTY_LIST
                    Push(new List<object?>());
                    break;
                case ')': // EMPTY_TUPLE
                    Push(Array.Empty<object?>());
                    break;
                case 't': // TUPLE
                    Push(PopToMark().ToArray());
                    break;
                case 0x85: // TUPLE1
                    Push(new[] { Pop() });
                    break;
                case 0x86: // TUPLE2
                {
                    var b = Pop();
                    var a = Pop();
                    Push(new[] { a, b });
                    break;
                }

                case 0x87: // TUPLE3
                {
                    var c = Pop();
                    var b = Pop();
                    var a = Pop();
                    Push(new[] { a, b, c });
                    break;
                }

                case 'J': // BININT
                    Push((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4)));
                    break;
                case 'K': // BININT1
                    Push((long)ReadByte());
                    break;
                case 'M': // BININT2
                    Push((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2)));
                    break;
                case 0x8a: // LONG1
                {
                    var n = ReadByte();
                    var value = new BigInteger(ReadBytes(n), isUnsigned: false, isBigEndian: false);
                    Push(value >= long.MinValue && value <= long.MaxValue ? (long)value : value);
                    break;
                }

                case 'G': // BINFLOAT
                    Push(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8)));
                    break;
                case 'N': // NONE
                    Push(null);
                    break;
                case 0x88: // NEWTRUE
                    Push(true);
                    break;
                case 0x89: // NEWFALSE
                    Push(false);
                    break;
                case 'X': // BINUNICODE
                    Push(Encoding.UTF8.GetString(ReadBytes(ReadLength(4))));
                    break;
                case 0x8c: // SHORT_BINUNICODE
                    Push(Encoding.UTF8.GetString(ReadBytes(ReadByte())));
                    break;
                case 0x8d: // BINUNICODE8
                    Push(Encoding.UTF8.GetString(ReadBytes(ReadLength(8))));
                    break;
                case 'T': // BINSTRING (Python 2 str)
                    Push(Encoding.Latin1.GetString(ReadBytes(ReadLength(4))));
                    break;
                case 'U': // SHORT_BINSTRING
                    Push(Encoding.Latin1.GetString(ReadBytes(ReadByte())));
                    break;
                case 'B': // BINBYTES
                    Push(ReadBytes(ReadLength(4)));
                    break;
                case 'C': // SHORT_BINBYTES
                    Push(ReadBytes(ReadByte()));
                    break;
                case 'q': // BINPUT
                    Memoize(ReadByte());
                    break;
                case 'r': // LONG_BINPUT
                    Memoize(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)));
                    break;
                case 0x94: // MEMOIZE
                    Memoize(_memo.Count);
                    break;
                case 'h': // BINGET
                    Push(GetMemo(ReadByte()));
                    break;
                case 'j': // LONG_BINGET
                    Push(GetMemo(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))));
                    break;
                case '0': // POP
                    Pop();
                    break;
                case '1': // POP_MARK
                    PopToMark();
                    break;
                case '2': // DUP
                    Push(Peek());
                    break;
                case 'c': // GLOBAL
                {
                    var module = ReadLine();
                    var name = ReadLine();
                    Push(ResolveGlobal(module, name));
                    break;
                }

                case 0x93: // STACK_GLOBAL
                {
                    var name = Pop() as string;
                    var module = Pop() as string;
                    if (module is null || name is null)
                    {
                        throw Fail("malformed pickle: STACK_GLOBAL needs two strings");
                    }

                    Push(ResolveGlobal(module, name));
                    break;
                }

                case 'R': // REDUCE
                {
                    var args = Pop() as object?[] ?? throw Fail("malformed pickle: REDUCE needs an argument tuple");
                    var callable = Pop() as PickleGlobal ?? throw Fail("malformed pickle: REDUCE on something that is not an allowed global");
                    Push(Call(callable, args));
                    break;
                }

                case 'b': // BUILD
                {
                    var state = Pop();
                    var target = Peek();
                    // torch state dicts carry a `_metadata` attribute (per-module versions); nothing else is built.
                    if (target is not PickleDict dict || state is not PickleDict stateDict)
                    {
                        throw Fail("the pickle sets the state of an object that is not an OrderedDict");
                    }

                    dict.State = stateDict;
                    break;
                }

                case 's': // SETITEM
                {
                    var value = Pop();
                    var key = Pop();
                    AsDict(Peek()).Add(key, value);
                    break;
                }

                case 'u': // SETITEMS
                {
                    var items = PopToMark();
                    var dict = AsDict(Peek());
                    if (items.Count % 2 != 0)
                    {
                        throw Fail("malformed pickle: SETITEMS with an odd number of values");
                    }

                    for (var i = 0; i < items.Count; i += 2)
                    {
                        dict.Add(items[i], items[i + 1]);
                    }

                    break;
                }

                case 'a': // APPEND
                {
                    var value = Pop();
                    AsList(Peek()).Add(value);
                    break;
                }

                case 'e': // APPENDS
                {
                    var items = PopToMark();
                    AsList(Peek()).AddRange(items);
                    break;
                }

                case 'Q': // BINPERSID
                {
                    var pid = Pop() as object?[] ?? throw Fail("malformed pickle: a persistent id that is not a tuple");
                    Push(_persistentLoad(pid));
                    break;
                }

                default:
                    throw Fail($"the pickle uses opcode 0x{op:x2} ('{(op is >= 32 and < 127 ? (char)op : '?')}') at byte {at}, which a state dict never needs; refusing to load it");
            }
        }
    }

    private object ResolveGlobal(string module, string name)
    {
        switch (module, name)
        {
            case ("collections", "OrderedDict"):
            case ("torch._utils", "_rebuild_tensor_v2"):
            case ("torch._utils", "_rebuild_tensor"):
                return new PickleGlobal(module, name);
        }

        if (module == "torch" && WeightDTypes.FromTorchStorage(name) is { } dtype)
        {
            return new TorchStorageType(name, dtype);
        }

        throw Fail($"the pickle names the global '{module}.{name}', which a PyTorch state dict never needs; refusing to load it (a pickle can run code: only OrderedDict, torch._utils._rebuild_tensor(_v2) and torch.*Storage are allowed)");
    }

    private object Call(PickleGlobal callable, object?[] args)
    {
        switch (callable.Name)
        {
            case "OrderedDict":
            {
                // Python 3 pickles OrderedDict() and adds items with SETITEMS; Python 2.7 (files from 2017)
                // pickles OrderedDict([[key, value], ...]).
                var dict = new PickleDict();
                if (args.Length == 0)
                {
                    return dict;
                }

                if (args.Length != 1 || args[0] is not List<object?> pairs)
                {
                    throw Fail("OrderedDict is only allowed with no arguments or a list of pairs");
                }

                foreach (var pair in pairs)
                {
                    var kv = pair switch
                    {
                        List<object?> { Count: 2 } l => l.ToArray(),
                        object?[] { Length: 2 } t => t,
                        _ => throw Fail("OrderedDict is only allowed with a list of [key, value] pairs"),
                    };
                    dict.Add(kv[0], kv[1]);
                }

                return dict;
            }

            case "_rebuild_tensor_v2":
            case "_rebuild_tensor":
                // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
                if (args.Length < 4 || args[0] is not PickledStorage storage || args[1] is not long offset
                    || args[2] is not object?[] size || args[3] is not object?[] stride || size.Length != stride.Length)
                {
                    throw Fail($"{callable.Name} has unexpected arguments");
                }

                return new PickledTensor(storage, offset, ToLongs(size), ToLongs(stride));
            default:
                throw Fail($"'{callable.Module}.{callable.Name}' cannot be called");
        }
    }

    private long[] ToLongs(object?[] values)
    {
        var result = new long[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            result[i] = values[i] is long v && v >= 0 ? v : throw Fail("a tensor size or stride is not a non-negative integer");
        }

        return result;
    }

    private PickleDict AsDict(object? value) => value as PickleDict ?? throw Fail("malformed pickle: SETITEM(S) on something that is not a dict");

    private List<object?> AsList(object? value) => value as List<object?> ?? throw Fail("malformed pickle: APPEND(S) on something that is not a list");

    private void Push(object? value)
    {
        _values++;
        _stack.Add(value);
    }

    private void Memoize(long key)
    {
        var value = Peek();
        if (_memo.Count >= MaxMemoEntries && !_memo.ContainsKey(key))
        {
            throw Fail($"the pickle memoizes more than {MaxMemoEntries:N0} objects, which no state dict needs; refusing to load it");
        }

        _memo[key] = value;
    }

    private object? GetMemo(long key) => _memo.TryGetValue(key, out var v) ? v : throw Fail($"malformed pickle: memo entry {key} is missing");

    private object? Pop()
    {
        if (_stack.Count == 0 || (_marks.Count > 0 && _marks.Peek() == _stack.Count))
        {
            throw Fail("malformed pickle: stack underflow");
        }

        var v = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    private object? Peek() => _stack.Count > 0 ? _stack[^1] : throw Fail("malformed pickle: stack underflow");

    private List<object?> PopToMark()
    {
        if (_marks.Count == 0)
        {
            throw Fail("malformed pickle: no MARK");
        }

        var mark = _marks.Pop();
        var items = _stack.GetRange(mark, _stack.Count - mark);
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    private int ReadByte()
    {
        Consume(1);
        var b = _stream.ReadByte();
        return b < 0 ? throw Truncated() : b;
    }

    /// <summary>Counts bytes against <see cref="MaxPickleBytes"/>, so a small compressed pickle cannot expand without bound.</summary>
    private void Consume(long count)
    {
        _budget -= count;
        if (_budget < 0)
        {
            throw Fail($"the pickle is larger than {MaxPickleBytes / (1024 * 1024)} MB (decompressed); a state dict's pickle is a few KB to a few MB, so the file is damaged or crafted");
        }
    }

    private long ReadInt64() => BinaryPrimitives.ReadInt64LittleEndian(ReadBytes(8));

    private int ReadLength(int size)
    {
        var length = size == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)) : ReadInt64();
        if (length < 0 || length > MaxStringBytes || length > _budget)
        {
            throw Fail($"a pickled string of {length} bytes is too long");
        }

        if (_stream.CanSeek && length > _stream.Length - _stream.Position)
        {
            throw Truncated();
        }

        return (int)length;
    }

    private byte[] ReadBytes(int count)
    {
        Consume(count);
        var buffer = new byte[count];
        try
        {
            _stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException)
        {
            throw Truncated();
        }

        return buffer;
    }

    private string ReadLine()
    {
        var sb = new StringBuilder();
        while (true)
        {
            var b = ReadByte();
            if (b == '\n')
            {
                return sb.ToString();
            }

            if (sb.Length > 256)
            {
                throw Fail("malformed pickle: a global name is too long");
            }

            sb.Append((char)b);
        }
    }

    private WeightsFileException Truncated() => new(_fileName, ["the file is truncated: the pickle ends before its STOP opcode"]);

    private WeightsFileException Fail(string problem) => new(_fileName, [problem]);
}
