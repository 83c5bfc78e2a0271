using System.IO.Compression;
using ImageSimilarity.Extraction.Weights;
using ImageSimilarity.TestSupport;

namespace ImageSimilarity.Extraction;

/// <summary>
/// Weights files built to exhaust memory (pickle bombs in a small zip, memo and stack floods) or to alias data
/// (overlapping safetensors): each is refused with a <see cref="WeightsFileException"/> that names the file.
/// </summary>
public sealed class HostileWeightsTests : IDisposable
{
    private readonly TempDirectory _dir = TestPaths.CreateTempDirectory("imgsim-hostile-weights");

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(0x94)] // MEMOIZE
    [InlineData((byte)'2')] // DUP
    public void Open_SmallZipWhosePickleExpandsToAHugeOpcodeRun_IsRefusedQuickly(byte opcode)
    {
        // 200 MB of one opcode deflates to well under 1 MB; before the caps this drove memory past 12 GB.
        var path = _dir.Combine($"bomb{opcode:x2}.pth");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            using var s = zip.CreateEntry("archive/data.pkl", CompressionLevel.SmallestSize).Open();
            s.Write([0x80, 0x02, (byte)'N']);
            var run = new byte[1 << 20];
            Array.Fill(run, opcode);
            for (var i = 0; i < 200; i++)
            {
                s.Write(run);
            }

            s.WriteByte((byte)'.');
        }

        Assert.True(new FileInfo(path).Length < 1_000_000);
        var before = GC.GetTotalAllocatedBytes();
        var ex = Assert.Throws<WeightsFileException>(() => WeightsFileReader.Open(path));

        Assert.Equal(path, ex.FilePath);
        Assert.Matches("more than the 64 MB|memoizes more than|stack grows beyond|creates more than", Assert.Single(ex.Problems));
        Assert.True(GC.GetTotalAllocatedBytes() - before < 1L << 30, "refused before allocating a gigabyte");
    }

    [Fact]
    public void Load_PickleLargerThanTheCap_IsRefused()
    {
        // FRAME opcodes forever (read-ahead hints that push nothing): only the size cap stops it.
        var stream = new RepeatingStream([0x80, 0x04], [0x95, 0, 0, 0, 0, 0, 0, 0, 0]);
        var reader = new PickleReader(stream, "endless.pkl", _ => throw new InvalidOperationException());

        var ex = Assert.Throws<WeightsFileException>(reader.Load);

        Assert.Contains("larger than 64 MB", ex.Message, StringComparison.Ordinal);
        Assert.InRange(stream.Position, PickleReader.MaxPickleBytes - 16, PickleReader.MaxPickleBytes);
    }

    [Fact]
    public void Open_ZipWhosePickleIsMemoizeOnly_IsRefusedByTheMemoCap()
    {
        // Under the size cap, so the memo cap is what stops it.
        var path = _dir.Combine("memo.pth");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            using var s = zip.CreateEntry("archive/data.pkl", CompressionLevel.SmallestSize).Open();
            s.Write([0x80, 0x04, (byte)'N']);
            s.Write(Enumerable.Repeat((byte)0x94, PickleReader.MaxMemoEntries + 10).ToArray());
            s.WriteByte((byte)'.');
        }

        var ex = Assert.Throws<WeightsFileException>(() => WeightsFileReader.Open(path));

        Assert.Contains("memoizes more than 1,000,000 objects", Assert.Single(ex.Problems), StringComparison.Ordinal);
    }

    [Fact]
    public void Open_ZipWhoseCentralDirectoryDisagreesWithItsEnd_IsAWeightsFileException()
    {
        // Found by the fuzz tests: ZipArchive reads the central directory lazily, so the damage surfaced as an
        // InvalidDataException from archive.Entries, outside the reader's handling.
        var path = _dir.Combine("entries.pth");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            using var s = zip.CreateEntry("archive/data.pkl", CompressionLevel.NoCompression).Open();
            s.Write([0x80, 0x02, (byte)'}', (byte)'.']);
        }

        var bytes = File.ReadAllBytes(path);
        bytes[^12] = 3; // the end-of-central-directory record's entry counts (offsets 8 and 10 of its 22 bytes)
        bytes[^14] = 3;
        File.WriteAllBytes(path, bytes);

        var ex = Assert.Throws<WeightsFileException>(() => WeightsFileReader.Open(path));

        Assert.Equal(path, ex.FilePath);
        Assert.Contains("not a valid zip archive", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ListFloodOfSmallValues_IsRefusedByTheValueCap()
    {
        // EMPTY_LIST, then NONE APPEND forever: the stack stays shallow but the list would grow without bound.
        var stream = new RepeatingStream([0x80, 0x02, (byte)']'], [(byte)'N', (byte)'a']);
        var reader = new PickleReader(stream, "flood.pkl", _ => throw new InvalidOperationException());

        var ex = Assert.Throws<WeightsFileException>(reader.Load);

        Assert.Contains("creates more than", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MarkFlood_IsRefusedByTheStackCap()
    {
        var stream = new RepeatingStream([0x80, 0x02], [(byte)'(']);
        var ex = Assert.Throws<WeightsFileException>(new PickleReader(stream, "marks.pkl", _ => throw new InvalidOperationException()).Load);
        Assert.Contains("stack grows beyond", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_SafetensorsWithOverlappingTensors_IsRefused()
    {
        var path = _dir.Combine("overlap.safetensors");
        Vgg16StateDictMapperTests.WriteSafetensors(path, new Dictionary<string, object>
        {
            ["a"] = new { dtype = "F32", shape = new[] { 4 }, data_offsets = new[] { 0, 16 } },
            ["b"] = new { dtype = "F32", shape = new[] { 4 }, data_offsets = new[] { 8, 24 } },
        }, new byte[24]);

        var ex = Assert.Throws<WeightsFileException>(() => WeightsFileReader.Open(path));

        Assert.Equal(path, ex.FilePath);
        Assert.Contains("overlaps 'a'", Assert.Single(ex.Problems), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 16, 20, 36, 36, "gap of 4 bytes before 'b'")]
    [InlineData(4, 20, 20, 36, 36, "gap of 4 bytes before 'a'")]
    [InlineData(0, 16, 16, 32, 40, "8 bytes after the last tensor")]
    public void Open_SafetensorsThatDoNotCoverTheDataExactly_IsRefused(int a0, int a1, int b0, int b1, int data, string problem)
    {
        var path = _dir.Combine("gap.safetensors");
        Vgg16StateDictMapperTests.WriteSafetensors(path, new Dictionary<string, object>
        {
            ["a"] = new { dtype = "F32", shape = new[] { 4 }, data_offsets = new[] { a0, a1 } },
            ["b"] = new { dtype = "F32", shape = new[] { 4 }, data_offsets = new[] { b0, b1 } },
        }, new byte[data]);

        var ex = Assert.Throws<WeightsFileException>(() => WeightsFileReader.Open(path));

        Assert.Contains(problem, Assert.Single(ex.Problems), StringComparison.Ordinal);
    }

    [Fact]
    public void Open_SafetensorsThatCoverTheDataExactly_Opens()
    {
        var path = _dir.Combine("ok.safetensors");
        Vgg16StateDictMapperTests.WriteSafetensors(path, new Dictionary<string, object>
        {
            ["__metadata__"] = new { format = "pt" },
            ["b"] = new { dtype = "F32", shape = new[] { 4 }, data_offsets = new[] { 16, 32 } },
            ["empty"] = new { dtype = "F32", shape = new[] { 0 }, data_offsets = new[] { 16, 16 } },
            ["a"] = new { dtype = "F32", shape = new[] { 2, 2 }, data_offsets = new[] { 0, 16 } },
        }, new byte[32]);

        using var sd = WeightsFileReader.Open(path);

        Assert.Equal(["b", "empty", "a"], sd.Tensors.Select(t => t.Name));
    }

    [Fact]
    public void Open_SafetensorsWhoseShapeOverflows_IsRefused()
    {
        var path = _dir.Combine("overflow.safetensors");
        Vgg16StateDictMapperTests.WriteSafetensors(path, new Dictionary<string, object>
        {
            ["a"] = new { dtype = "F32", shape = new[] { long.MaxValue / 2, 4 }, data_offsets = new[] { 0, 8 } },
        }, new byte[8]);

        var ex = Assert.Throws<WeightsFileException>(() => WeightsFileReader.Open(path));

        Assert.Contains("too large to address", Assert.Single(ex.Problems), StringComparison.Ordinal);
    }

    /// <summary>A read-only stream of a head, then one pattern repeated forever (a pickle that never reaches STOP).</summary>
    private sealed class RepeatingStream(byte[] head, byte[] pattern) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            for (var i = 0; i < count; i++)
            {
                var p = _position++;
                buffer[offset + i] = p < head.Length ? head[p] : pattern[(p - head.Length) % pattern.Length];
            }

            return count;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
