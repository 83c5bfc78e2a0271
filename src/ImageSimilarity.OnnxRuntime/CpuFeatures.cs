namespace ImageSimilarity.OnnxRuntime;

/// <summary>The CPU facts the VGG16 engine rule needs, read from /proc/cpuinfo.</summary>
internal sealed record CpuFeatures(string ModelName, string Vendor, bool HasAvx512Bf16, bool HasAmxBf16)
{
    private static readonly Lazy<CpuFeatures> Detected = new(Detect);

    public static CpuFeatures Current => Detected.Value;

    /// <summary>Gets a value indicating whether bf16 matrix products run at full rate (AMX, or AMD Zen 4+ AVX512_BF16).</summary>
    public bool FastBf16 => HasAmxBf16 || (HasAvx512Bf16 && Vendor == "AuthenticAMD");

    public string Summary => $"{Vendor}, avx512_bf16 {(HasAvx512Bf16 ? "yes" : "no")}, amx_bf16 {(HasAmxBf16 ? "yes" : "no")}";

    internal static CpuFeatures Parse(string cpuinfo)
    {
        string model = "unknown", vendor = "unknown", flags = string.Empty;
        foreach (var line in cpuinfo.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                if (flags.Length > 0)
                {
                    break; // the first processor is enough
                }

                continue;
            }

            var key = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            switch (key)
            {
                case "model name": model = value; break;
                case "vendor_id": vendor = value; break;
                case "flags": flags = " " + value + " "; break;
            }
        }

        return new CpuFeatures(model, vendor, flags.Contains(" avx512_bf16 ", StringComparison.Ordinal), flags.Contains(" amx_bf16 ", StringComparison.Ordinal));
    }

    private static CpuFeatures Detect()
    {
        try
        {
            return OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo") ? Parse(File.ReadAllText("/proc/cpuinfo")) : new CpuFeatures("unknown", "unknown", false, false);
        }
        catch (IOException)
        {
            return new CpuFeatures("unknown", "unknown", false, false);
        }
    }
}
