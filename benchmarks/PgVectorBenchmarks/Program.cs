using System.Globalization;
using ImageSimilarity.PgVector.Benchmarks;

// PgVectorBenchmarks search --features FILE [--dims 4096] [--queries 200] [--sizes 20000,100000] [--candidates 40,...,1000] [--codes sign,median] [--sources 88] [--m 16] [--ef-construction 200] [--out results.md]
//     (FILE from benchmarks/RealisticFeatures, e.g. /work/big/features/resnet18-4096.f32; --sources 88 adds recall with the
//     query's own source image excluded: row r is an augmentation of source r % 88)
// PgVectorBenchmarks search --quick      (2,000 synthetic rows, a few tens of seconds: CI)
// PgVectorBenchmarks distributed --images DIR [--count 200] [--workers 1,2]
string Arg(string name, string? fallback = null)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback ?? throw new ArgumentException($"missing {name}");
}

return args.FirstOrDefault() switch
{
    "search" => await SearchCommand.RunAsync(
        args.Contains("--features") ? Arg("--features") : null,
        int.Parse(Arg("--dims", "4096"), CultureInfo.InvariantCulture),
        int.Parse(Arg("--queries", args.Contains("--quick") ? "20" : "200"), CultureInfo.InvariantCulture),
        Arg("--sizes", "20000,100000").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(),
        Arg("--candidates", args.Contains("--quick") ? "40,200" : "40,100,200,400,800,1000").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(),
        int.Parse(Arg("--exact-queries", "20"), CultureInfo.InvariantCulture),
        Arg("--codes", "sign,median").Split(',').Select(s => Enum.Parse<ImageSimilarity.PgVector.BinaryCodeKind>(s, ignoreCase: true)).ToArray(),
        args.Contains("--out") ? Arg("--out") : null,
        args.Contains("--quick"),
        int.Parse(Arg("--sources", "0"), CultureInfo.InvariantCulture),
        int.Parse(Arg("--m", "16"), CultureInfo.InvariantCulture),
        int.Parse(Arg("--ef-construction", "200"), CultureInfo.InvariantCulture)),
    "distributed" => await DistributedCommand.RunAsync(Arg("--images"), int.Parse(Arg("--count", "200"), CultureInfo.InvariantCulture), Arg("--workers", "1,2").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray()),
    "worker" => await DistributedCommand.WorkerAsync(args[1], args[2], args[3]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: PgVectorBenchmarks search|distributed ... (see Program.cs)");
    return 2;
}
