#!/usr/bin/python3
"""Turns the JSON lines of benchmarks/peers/run.sh into the results section of docs/benchmarks.md.

  report.py machine                              print the machine description as one JSON line
  report.py report RESULTS.jsonl [--into FILE]   markdown to stdout, or replace the text between the
                                                 <!-- results:start --> and <!-- results:end --> markers of FILE
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys

GFLOP_PER_IMAGE = 31.0  # VGG16 (to fc2) is about 15.5 GMAC per 224x224 image; one MAC = 2 FLOP.
START, END = "<!-- results:start -->", "<!-- results:end -->"


def run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine():
    lscpu = dict(line.split(":", 1) for line in run("lscpu").splitlines() if ":" in line)
    lscpu = {k.strip(): v.strip() for k, v in lscpu.items()}
    flags = lscpu.get("Flags", "").split()
    mem = re.search(r"Mem:\s+(\d+)", run("free", "-g"))
    os_name = ""
    if os.path.exists("/etc/os-release"):
        os_name = dict(l.split("=", 1) for l in open("/etc/os-release").read().splitlines() if "=" in l).get("PRETTY_NAME", "").strip('"')
    versions = {}
    for module in ["torch", "numpy", "faiss"]:
        try:
            versions[module] = __import__(module).__version__
        except Exception:  # noqa: BLE001 - a missing peer is reported, not fatal
            versions[module] = "not installed"
    print(json.dumps({
        "machine": True,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": lscpu.get("Model name", platform.processor()),
        "cores": os.cpu_count(),
        "hypervisor": lscpu.get("Hypervisor vendor", ""),
        "l3": lscpu.get("L3 cache", ""),
        "isa": " ".join(f for f in ["avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16"] if f in flags),
        "memory_gib": int(mem.group(1)) if mem else None,
        "os": os_name,
        "kernel": platform.release(),
        "dotnet": run("dotnet", "--version"),
        "load_average": os.getloadavg()[0],
        **versions,
    }))


def fmt(x, digits=2):
    return "–" if x is None else f"{x:.{digits}f}"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def report(path, into):
    rows = [json.loads(l) for l in open(path) if l.strip().startswith("{")]
    m = next((r for r in rows if r.get("machine")), {})
    gemm = {}
    for r in rows:
        if r.get("probe") == "gemm":
            gemm.setdefault(r["precision"], []).append(r)
    peak = {p: max(r["gflops"] for r in rs) for p, rs in gemm.items()}

    def ips(peer, precision, batch):
        return next((r["images_per_second"] for r in rows if r.get("peer") == peer and r.get("precision") == precision
                     and r.get("batch") == batch and "images_per_second" in r), None)

    def version(peer):
        return next((r.get("version") for r in rows if r.get("peer") == peer and "version" in r), "?")

    batches = sorted({r["batch"] for r in rows if "images_per_second" in r})
    out = []
    w = out.append
    w(f"Run of {m.get('date', '?')} on {m.get('cpu', '?')}, {m.get('cores', '?')} cores ({m.get('hypervisor') and m['hypervisor'] + ' VM, ' or ''}"
      f"{m.get('isa', '')}), L3 {m.get('l3', '?')}, {m.get('memory_gib', '?')} GiB, {m.get('os', '?')} (kernel {m.get('kernel', '?')}), "
      f".NET SDK {m.get('dotnet', '?')}; load average {fmt(m.get('load_average'))} at the start. "
      f"Peers: PyTorch {m.get('torch', '?')} (Debian), ONNX Runtime {version('onnxruntime')} (NuGet, .NET API), numpy {m.get('numpy', '?')}, FAISS {m.get('faiss', '?')}; "
      f"this library on {version('imagesimilarity')}. Each number is the median of several runs after a warm-up.")
    w("")
    w("### Achievable GEMM rate (the compute ceiling)")
    w("")
    w("| library | precision | size | GFLOPS |")
    w("|---|---|---:|---:|")
    for p in ["fp32", "bf16"]:
        for r in gemm.get(p, []):
            w(f"| {r['library']} | {p} | {r['size']} | {fmt(r['gflops'], 0)} |")
    w("")
    w(f"Peak used below: the best measured GEMM rate per precision (fp32 {fmt(peak.get('fp32'), 0)}, bf16 {fmt(peak.get('bf16'), 0)} GFLOPS). "
      f"VGG16 to fc2 costs {GFLOP_PER_IMAGE:.0f} GFLOP per image, so the compute ceiling is {fmt(ratio(peak.get('fp32'), GFLOP_PER_IMAGE), 1)} img/s in fp32 "
      f"and {fmt(ratio(peak.get('bf16'), GFLOP_PER_IMAGE), 1)} img/s in bf16.")
    effective = [(label, ips(peer, precision, b) * GFLOP_PER_IMAGE, b) for peer, precision, label in
                 [("onnxruntime", "fp32", "ONNX Runtime fp32"), ("imagesimilarity", "fp32", "ours fp32"), ("imagesimilarity", "bf16", "ours bf16")]
                 for b in [max([b for b in sorted({r["batch"] for r in rows if "images_per_second" in r})] or [0])] if ips(peer, precision, b)]
    if effective:
        w("")
        w("Effective rate of the networks (img/s x 31 GFLOP) at the largest batch: "
          + ", ".join(f"{label} {g:.0f} GFLOPS" for label, g, _ in effective) + ".")
    w("")
    w("### Extraction: VGG16 fc2 forward, images per second (higher is better)")
    w("")
    w("| batch | ours fp32 | PyTorch fp32 | ONNX Runtime fp32 | ours / PyTorch | ours / ORT | ours bf16 | bf16 / fp32 | ours fp32 % of peak | ORT % of fp32 peak | ours bf16 % of bf16 peak | ours NCHW fp32 (before) | ours NCHW bf16 (before) |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for b in batches:
        o32, pt, ort, o16 = ips("imagesimilarity", "fp32", b), ips("pytorch", "fp32", b), ips("onnxruntime", "fp32", b), ips("imagesimilarity", "bf16", b)

        def pct(v, p):
            return None if v is None or peak.get(p) is None else 100 * v * GFLOP_PER_IMAGE / peak[p]
        w(f"| {b} | {fmt(o32)} | {fmt(pt)} | {fmt(ort)} | {fmt(ratio(o32, pt))}x | {fmt(ratio(o32, ort))}x | {fmt(o16)} | {fmt(ratio(o16, o32))}x "
          f"| {fmt(pct(o32, 'fp32'), 0)} % | {fmt(pct(ort, 'fp32'), 0)} % | {fmt(pct(o16, 'bf16'), 0)} % | {fmt(ips('imagesimilarity-nchw', 'fp32', b))} "
          f"| {fmt(ips('imagesimilarity-nchw', 'bf16', b))} |")
    engines = [("imagesimilarity", "fp32", "ours, channels-last"), ("imagesimilarity-nchw", "fp32", "ours, NCHW (before)"),
               ("onnxruntime", "fp32", "ONNX Runtime"), ("pytorch", "fp32", "PyTorch"),
               ("imagesimilarity", "bf16", "ours, channels-last"), ("imagesimilarity-nchw", "bf16", "ours, NCHW (before)"),
               ("torchsharp-functional", "fp32", "probe: plain TorchSharp calls, NCHW"),
               ("torchsharp-channels-last", "fp32", "probe: plain TorchSharp calls, channels-last")]

    def cpu(peer, precision, batch):
        return next((r["cpu_seconds_per_batch"] / batch for r in rows if r.get("peer") == peer and r.get("precision") == precision
                     and r.get("batch") == batch and "cpu_seconds_per_batch" in r), None)
    w("")
    w("CPU seconds per image (process CPU time over the timed runs, all threads; lower is better). This separates the work an engine does "
      "from the scheduling noise of a shared machine:")
    w("")
    w("| engine | precision | " + " | ".join(f"batch {b}" for b in batches) + " |")
    w("|---|---|" + "---:|" * len(batches))
    for peer, precision, label in engines:
        values = [cpu(peer, precision, b) for b in batches]
        if any(v is not None for v in values):
            w(f"| {label} | {precision} | " + " | ".join(fmt(v, 3) for v in values) + " |")
    cos = next((r for r in rows if r.get("cosine")), None)
    if cos:
        w("")
        w(f"bf16 against fp32 features, {cos['images']} real images (seed sample) through the full pipeline: cosine min {cos['min']:.5f}, "
          f"mean {cos['mean']:.5f} (random weights `{cos['weights']}`; see docs/extraction.md for the official weights).")
    loads = [r for r in rows if r.get("load")]
    if loads:
        w("")
        w("### Weight loading (`Vgg16FeatureExtractor.Load`, file in the page cache)")
        w("")
        w("| file | bytes | fp32 s | bf16 s | GB/s (fp32) |")
        w("|---|---:|---:|---:|---:|")
        for f in dict.fromkeys(r["load"] for r in loads):
            s32 = next((r["seconds"] for r in loads if r["load"] == f and r["precision"] == "fp32"), None)
            s16 = next((r["seconds"] for r in loads if r["load"] == f and r["precision"] == "bf16"), None)
            size = next(r["bytes"] for r in loads if r["load"] == f)
            w(f"| {f} | {size:,} | {fmt(s32)} | {fmt(s16)} | {fmt(ratio(size / 1e9, s32), 1)} |")

    def search(peer, kind, count, precision="fp32"):
        return next((r for r in rows if r.get("peer") == peer and r.get("search") == kind and r.get("count") == count
                     and r.get("precision") == precision), None)

    counts = sorted({r["count"] for r in rows if r.get("search")})
    bw = max([r["gb_per_s"] for r in rows if r.get("search") == "stream"] or [0])
    w("")
    w("### Search: exact top-10 cosine over N x 4096, milliseconds per query (lower is better)")
    w("")
    w(f"Memory read bandwidth (best one-pass read measured in this run): {bw:.1f} GB/s ("
      + "; ".join(f"{r['peer']} {r['count']:,} {r['precision']}: {r['gb_per_s']:.1f}" for r in rows if r.get("search") == "stream") + " GB/s).")
    w("")
    w("| N | store | query | ours ms | stream once ms | ours / stream | % of bandwidth | numpy ms | FAISS IndexFlatIP ms | numpy / ours | FAISS / ours |")
    w("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in counts:
        for precision in ["fp32", "half"]:
            stream = search("imagesimilarity", "stream", n, precision)
            for kind, label in [("single", "1"), ("batch32", "batch of 32")]:
                ours = search("imagesimilarity", kind, n, precision)
                if not ours:
                    continue
                npy, fa = search("numpy", kind, n), search("faiss", kind, n)
                bytes_ = n * 4096 * (2 if precision == "half" else 4)
                pct = 100 * (bytes_ / 1e9 / bw) / (ours["ms"] / 1e3) if bw and kind == "single" else None
                w(f"| {n:,} | {precision} | {label} | {fmt(ours['ms'])} | {fmt(stream and stream['ms'])} | "
                  f"{fmt(ratio(ours['ms'], stream and stream['ms'])) + 'x' if kind == 'single' else '–'} | {fmt(pct, 0) + ' %' if pct else '–'} | "
                  f"{fmt(npy and npy['ms'])} | {fmt(fa and fa['ms'])} | {fmt(ratio(npy and npy['ms'], ours['ms']))}x | {fmt(ratio(fa and fa['ms'], ours['ms']))}x |")
    w("")
    w("numpy and FAISS search float32 rows; the half store holds the same vectors in half the bytes (compared against the same fp32 peers). "
      "For one query, % of bandwidth = (bytes of the stored vectors / best measured bandwidth) / search time.")

    # Goals, computed.
    w("")
    w("### Goals (computed from this run)")
    w("")
    w("| goal | measured | met |")
    w("|---|---|---|")
    for b in batches:
        o32, pt, ort, o16 = ips("imagesimilarity", "fp32", b), ips("pytorch", "fp32", b), ips("onnxruntime", "fp32", b), ips("imagesimilarity", "bf16", b)
        best = max([v for v in [pt, ort] if v] or [0])
        w(f"| fp32 at least as fast as PyTorch and ONNX Runtime, batch {b} | ours {fmt(o32)} vs best peer {fmt(best)} img/s ({fmt(ratio(o32, best))}x) | {'yes' if o32 and o32 >= best else 'no'} |")
        w(f"| bf16 at least 2x our fp32, batch {b} | {fmt(ratio(o16, o32))}x | {'yes' if o16 and o32 and o16 >= 2 * o32 else 'no'} |")
    if cos:
        w(f"| bf16 cosine >= 0.999 to fp32 | min {cos['min']:.5f} | {'yes' if cos['min'] >= 0.999 else 'no'} |")
    for n in counts:
        for precision in ["fp32", "half"]:
            ours, stream = search("imagesimilarity", "single", n, precision), search("imagesimilarity", "stream", n, precision)
            if ours and stream:
                r = ours["ms"] / stream["ms"]
                w(f"| search <= 1.3x streaming time, {n:,} {precision} | {r:.2f}x | {'yes' if r <= 1.3 else 'no'} |")
            for kind in ["single", "batch32"]:
                ours = search("imagesimilarity", kind, n, precision)
                peers = [p["ms"] for p in [search("numpy", kind, n), search("faiss", kind, n)] if p]
                if ours and peers:
                    r = min(peers) / ours["ms"]
                    w(f"| search >= 3x faster than FAISS/numpy, {n:,} {precision} {kind} | {r:.2f}x | {'yes' if r >= 3 else 'no'} |")

    text = "\n".join(out) + "\n"
    if not into:
        sys.stdout.write(text)
        return
    doc = open(into).read() if os.path.exists(into) else f"# Benchmarks\n\n{START}\n{END}\n"
    if START not in doc or END not in doc:
        doc += f"\n## Results\n\n{START}\n{END}\n"
    before, rest = doc.split(START, 1)
    after = rest.split(END, 1)[1]
    open(into, "w").write(before + START + "\n" + text + END + after)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("machine")
    r = sub.add_parser("report")
    r.add_argument("results")
    r.add_argument("--into")
    args = parser.parse_args()
    if args.command == "machine":
        machine()
    else:
        report(args.results, args.into)


if __name__ == "__main__":
    main()
