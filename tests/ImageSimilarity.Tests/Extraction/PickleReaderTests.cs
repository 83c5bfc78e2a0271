using System.IO.Compression;
using System.Text;
using System.Text.Json;
using ImageSimilarity.Extraction.Weights;
using ImageSimilarity.TestSupport;

namespace ImageSimilarity.Extraction;

[Collection(TorchCollection.Name)]
public sealed class PickleReaderTests
{
    // pickle.dumps of an object whose __reduce__ returns (os.system, ("echo owned",)), protocol 2.
    private static readonly byte[] EvilProtocol2 = Concat(
        [0x80, 0x02], "cos\nsystem\nq\u0000X\u000a\u0000\u0000\u0000echo ownedq\u0001\u0085q\u0002Rq\u0003.");

    // The same with protocol 4 (STACK_GLOBAL).
    private static readonly byte[] EvilProtocol4 = Concat(
        [0x80, 0x04], "\u008c\u0002os\u0094\u008c\u0006system\u0094\u0093\u0094\u008c\u000aecho owned\u0094\u0085\u0094R\u0094.");

    private readonly SmallCheckpointFixture _small;

    public PickleReaderTests(SmallCheckpointFixture small) => _small = small;

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Load_GlobalOsSystem_IsRefusedNamingIt(int protocol)
    {
        var reader = new PickleReader(new MemoryStream(protocol == 2 ? EvilProtocol2 : EvilProtocol4), "evil.pkl", _ => throw new InvalidOperationException());
        var ex = Assert.Throws<WeightsFileException>(() => reader.Load());
        Assert.Contains("'os.system'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("refusing", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_LegacyLookingFileWithEvilPickle_IsRefused()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("evil.pth");
        File.WriteAllBytes(path, EvilProtocol2);
        var ex = Assert.Throws<WeightsFileException>(() => WeightsFileReader.Open(path));
        Assert.Equal(path, ex.FilePath);
        Assert.Contains("os.system", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_ZipWithEvilDataPkl_IsRefused()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var path = dir.Combine("evil_zip.pth");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            using var s = zip.CreateEntry("archive/data.pkl", CompressionLevel.NoCompression).Open();
            s.Write(EvilProtocol4);
        }

        var ex = Assert.Throws<WeightsFileException>(() => WeightsFileReader.Open(path));
        Assert.Contains("os.system", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("builtins\neval\n")]
    [InlineData("torch\nload\n")]
    [InlineData("torch._utils\n_rebuild_parameter\n")]
    [InlineData("subprocess\nPopen\n")]
    public void Load_AnyOtherGlobal_IsRefused(string global)
    {
        var reader = new PickleReader(new MemoryStream(Concat([0x80, 0x02], "c" + global + ")R.")), "x.pkl", _ => throw new InvalidOperationException());
        var ex = Assert.Throws<WeightsFileException>(() => reader.Load());
        Assert.Contains("refusing", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\u0081")] // NEWOBJ
    [InlineData("i")] // INST
    [InlineData("o")] // OBJ
    [InlineData("P")] // PERSID (text)
    public void Load_OpcodeAStateDictNeverUses_IsRefused(string opcode)
    {
        var reader = new PickleReader(new MemoryStream(Concat([0x80, 0x02], opcode + ".")), "x.pkl", _ => throw new InvalidOperationException());
        var ex = Assert.Throws<WeightsFileException>(() => reader.Load());
        Assert.Contains("opcode", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_TruncatedPickle_SaysTruncated()
    {
        var reader = new PickleReader(new MemoryStream(Concat([0x80, 0x02], "}q\u0000(X\u0005\u0000\u0000\u0000ab")), "x.pkl", _ => throw new InvalidOperationException());
        var ex = Assert.Throws<WeightsFileException>(() => reader.Load());
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_PlainValues_MapToClrValues()
    {
        // {'a': [1, -2, 3.5, None, True], 'b': (b'xy', 'z')} with protocol 2.
        var bytes = Concat([0x80, 0x02], "}q\u0000(X\u0001\u0000\u0000\u0000a]q\u0001(K\u0001J\u00fe\u00ff\u00ff\u00ffG@\u000c\u0000\u0000\u0000\u0000\u0000\u0000N\u0088eX\u0001\u0000\u0000\u0000bC\u0002xyX\u0001\u0000\u0000\u0000z\u0086u.");
        var value = new PickleReader(new MemoryStream(bytes), "x.pkl", _ => throw new InvalidOperationException()).Load();
        var dict = Assert.IsType<PickleDict>(value);
        var list = Assert.IsType<List<object?>>(dict["a"]);
        Assert.Equal(new object?[] { 1L, -2L, 3.5, null, true }, list);
        var tuple = Assert.IsType<object?[]>(dict["b"]);
        Assert.Equal("xy"u8.ToArray(), tuple[0]);
        Assert.Equal("z", tuple[1]);
    }

    [Fact]
    public void Load_Python2StyleOrderedDictWithPairs_KeepsOrder()
    {
        // Python 2.7's OrderedDict.__reduce__: OrderedDict([['b', 1], ['a', 2]]), str keys as SHORT_BINSTRING.
        var bytes = Concat([0x80, 0x02], "ccollections\nOrderedDict\nq\u0000]q\u0001(]q\u0002(U\u0001bK\u0001e]q\u0003(U\u0001aK\u0002ee\u0085Rq\u0004.");
        var value = new PickleReader(new MemoryStream(bytes), "py2.pth", _ => throw new InvalidOperationException()).Load();
        var dict = Assert.IsType<PickleDict>(value);
        Assert.Equal(["b", "a"], dict.Items.Select(p => p.Key));
        Assert.Equal(2L, dict["a"]);
    }

    [SkippableTheory]
    [InlineData("evil_zip.pth")]
    [InlineData("evil_legacy.pth")]
    [InlineData("evil_raw.pkl")]
    public void Open_EvilFilesWrittenByTorch_AreRefused(string file)
    {
        var path = Path.Combine(_small.Folder, file);
        var ex = Assert.Throws<WeightsFileException>(() => WeightsFileReader.Open(path));

        // Pickle writes os.system as posix.system on Linux.
        Assert.Contains(".system'", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists("/tmp/imagesimilarity-owned"));
    }

    [SkippableTheory]
    [InlineData("small_zip.pth", "PyTorch zip")]
    [InlineData("small_legacy.pth", "PyTorch legacy")]
    public void Open_SmallStateDictWrittenByTorch_ReadsEveryTensorExactly(string file, string format)
    {
        var folder = _small.Folder;
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "small_expected.json")));
        using var sd = WeightsFileReader.Open(Path.Combine(folder, file));
        Assert.Equal(format, sd.Format);
        Assert.Equal(expected.RootElement.EnumerateObject().Select(p => p.Name), sd.Tensors.Select(t => t.Name));
        foreach (var p in expected.RootElement.EnumerateObject())
        {
            var t = sd.ByName[p.Name];
            Assert.Equal(p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()), t.Shape);
            Assert.Equal(p.Value.GetProperty("dtype").GetString(), WeightDTypes.Name(t.DType));
            var values = Vgg16StateDictMapper.ReadAsFloat32(t);
            var want = p.Value.GetProperty("values").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
            Assert.Equal(want, values);
        }
    }

    [SkippableFact]
    public void Open_TruncatedLegacyFile_SaysTruncated()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var bytes = File.ReadAllBytes(Path.Combine(_small.Folder, "small_legacy.pth"));
        foreach (var cut in new[] { 100, bytes.Length / 2, bytes.Length - 10 })
        {
            var path = dir.Combine($"cut{cut}.pth");
            File.WriteAllBytes(path, bytes[..cut]);
            var ex = Record.Exception(() =>
            {
                using var sd = WeightsFileReader.Open(path);
                foreach (var t in sd.Tensors)
                {
                    Vgg16StateDictMapper.ReadAsFloat32(t);
                }
            });
            var wfe = Assert.IsType<WeightsFileException>(ex);
            Assert.Contains("truncated", wfe.Message, StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public void Open_TruncatedZipFile_SaysTruncated()
    {
        using var dir = TestPaths.CreateTempDirectory();
        var bytes = File.ReadAllBytes(Path.Combine(_small.Folder, "small_zip.pth"));
        var path = dir.Combine("cut.pth");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var ex = Assert.Throws<WeightsFileException>(() => WeightsFileReader.Open(path));
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    private static byte[] Concat(byte[] head, string latin1) => [.. head, .. Encoding.Latin1.GetBytes(latin1)];
}
