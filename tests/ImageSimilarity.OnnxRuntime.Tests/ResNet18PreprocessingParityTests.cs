using System.Diagnostics;
using System.Runtime.InteropServices;
using ImageSimilarity.Imaging;
using ImageSimilarity.TestSupport;
using Xunit.Abstractions;

namespace ImageSimilarity.OnnxRuntime;

/// <summary>
/// ResNet18 preprocessing (Pillow-exact resize to 256, centre crop 224, BGR minus the package's mean image) against
/// an independent Python computation with Pillow and numpy (tests/reference/resnet18_preprocess_reference.py).
/// </summary>
public sealed class ResNet18PreprocessingParityTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void Preprocess_SeedSample_MatchesPillowNumpyReference()
    {
        var files = SeedImages.Files;
        RequireOnnxModule();
        var directory = ResNet18Model.FindModelDirectory();
        using var temp = TestPaths.CreateTempDirectory("resnet18-prep");
        PythonReference.Run("resnet18_preprocess_reference.py", [Path.Combine(directory, ResNet18Model.PreprocessFile), temp.Path, .. files]);

        var preprocessor = new OnnxImagePreprocessor(ResNet18Model.CreateSpec(directory));
        var exact = 0;
        double worstLossless = 0, worstLossyMean = 0;
        foreach (var file in files)
        {
            var expected = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(Path.Combine(temp.Path, Path.GetFileName(file) + ".f32"))).ToArray();
            var actual = preprocessor.Preprocess(ImageInput.FromFile(file)).Data.ToArray();
            Assert.Equal(3 * 224 * 224, expected.Length);
            Assert.Equal(expected.Length, actual.Length);
            double max = 0, sum = 0;
            for (var i = 0; i < expected.Length; i++)
            {
                double d = Math.Abs(expected[i] - actual[i]);
                max = Math.Max(max, d);
                sum += d;
            }

            var mean = sum / expected.Length;
            exact += max == 0 ? 1 : 0;
            if (IsPng(file))
            {
                // Lossless input: the resize, crop and mean-image arithmetic must agree to the bit.
                Assert.True(max == 0, $"{Path.GetFileName(file)} (PNG): max abs difference {max} from the Pillow/numpy reference");
                worstLossless = Math.Max(worstLossless, max);
            }
            else
            {
                // JPEG/WebP: another decoder build may round a few pixels differently (identical with Debian's Pillow here).
                Assert.True(mean <= 2.0, $"{Path.GetFileName(file)}: mean abs difference {mean:F3} (0-255 scale) from the reference");
                worstLossyMean = Math.Max(worstLossyMean, mean);
            }
        }

        output.WriteLine($"{exact} of {files.Length} seed images bit-identical to the Pillow/numpy reference; worst PNG max diff {worstLossless}, worst JPEG/WebP mean diff {worstLossyMean:F4}");
        Assert.True(files.Count(IsPng) >= 5, "the seed sample should hold several PNG files");
    }

    private static bool IsPng(string file)
    {
        Span<byte> head = stackalloc byte[4];
        using var stream = File.OpenRead(file);
        stream.ReadExactly(head);
        return (head[0] == 0x89 && head[1] == (byte)'P' && head[2] == (byte)'N' && head[3] == (byte)'G');
    }

    private static void RequireOnnxModule()
    {
        PythonReference.RequireAvailable();
        var psi = new ProcessStartInfo(PythonReference.Python, ["-c", "import onnx"]) { RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(psi)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            if (TestPaths.IsCi)
            {
                throw new InvalidOperationException("CI must have python3-onnx (eng/install-prerequisites.sh --test): " + error);
            }

            Skip.If(true, "python3-onnx is not installed; run eng/install-prerequisites.sh --test. " + error.Trim());
        }
    }
}
