using System.Globalization;
using ImageSimilarity.PgVector.Benchmarks;

// PgVectorBenchmarks features --images DIR --count N --out FILE [--threads T]
// PgVectorBenchmarks search --features FILE --queries Q --sizes 20000,100000 --candidates 40,100,200,400,800 [--out results.md]
// PgVectorBenchmarks distributed --images DIR --count N --workers 1|2 --cli PATH
string Arg(string name, string? fallback = null)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback ?? throw new ArgumentException($"missing {name}");
}

return args.FirstOrDefault() switch
{
    "features" => await FeaturesCommand.RunAsync(Arg("--images"), int.Parse(Arg("--count"), CultureInfo.InvariantCulture), Arg("--out"), int.Parse(Arg("--threads", "0"), CultureInfo.InvariantCulture)),
    "search" => await SearchCommand.RunAsync(
        args.Contains("--features") ? Arg("--features") : null,
        int.Parse(Arg("--dims", "4096"), CultureInfo.InvariantCulture),
        int.Parse(Arg("--queries", args.Contains("--quick") ? "20" : "200"), CultureInfo.InvariantCulture),
        Arg("--sizes", "20000,100000").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(),
        Arg("--candidates", args.Contains("--quick") ? "40,200" : "40,100,200,400,800,1000").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(),
        int.Parse(Arg("--exact-queries", "20"), CultureInfo.InvariantCulture),
        Arg("--codes", "sign,median").Split(',').Select(s => Enum.Parse<ImageSimilarity.PgVector.BinaryCodeKind>(s, ignoreCase: true)).ToArray(),
        args.Contains("--out") ? Arg("--out") : null,
        args.Contains("--quick")),
    "distributed" => await DistributedCommand.RunAsync(Arg("--images"), int.Parse(Arg("--count", "32"), CultureInfo.InvariantCulture), Arg("--workers", "1,2").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray()),
    "worker" => await DistributedCommand.WorkerAsync(args[1], args[2], args[3], args[4]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: PgVectorBenchmarks features|search|distributed ... (see Program.cs)");
    return 2;
}
