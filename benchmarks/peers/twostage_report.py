#!/usr/bin/env python3
"""Markdown tables from the JSON lines of run_twostage.sh (ours and FAISS, one run). Usage: twostage_report.py FILE.jsonl"""
import json
import sys


def main():
    lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
    step, configs, order, memory, steps = None, {}, [], [], []
    seen = {}
    for l in lines:
        if "step" in l:
            seen[l["step"]] = seen.get(l["step"], 0) + 1
            step = l["step"] + (" (again)" if seen[l["step"]] > 1 else "")
            steps.append(f"{l['utc']} {step}: load {l['load']}")
            continue
        if l.get("tool") == "ours" and l["what"] == "open":
            m = l["memory"]
            memory.append(f"| {step} | {l['open_s']:.2f} s | {m['vectors_mb']:.0f} | {m['codes_mb']:.0f} | {m['managed_heap_mb']:.0f} | "
                          f"{m['rss_mb']:.0f} ({m['rss_anon_mb']:.0f} + {m['rss_file_mb']:.0f}) |")
            continue
        if l.get("tool") == "faiss" and l["what"] == "memory":
            memory.append(f"| faiss IndexBinaryFlat + memmap | | | {l['codes_mb']:.0f} | | {l['rss']['VmRSS']:.0f} "
                          f"({l['rss'].get('RssAnon', 0):.0f} + {l['rss'].get('RssFile', 0):.0f}) |")
            continue
        if l.get("what") not in ("search", "flat", "binary"):
            continue
        if l["tool"] == "faiss":
            name = "faiss IndexFlatIP (exact)" if l["what"] == "flat" else "faiss IndexBinaryFlat + re-rank"
            col = "exact" if l["what"] == "flat" else l["candidates"]
        else:
            name = step + (", cold page cache" if "cold" in l["how"] else "")
            col = "exact" if l["candidates"] == 0 else l["candidates"]
        if name not in configs:
            configs[name] = {}
            order.append(name)
        configs[name][col] = l
    cols = ["exact"] + sorted({c for v in configs.values() for c in v if c != "exact"})

    def cell(d, f):
        return f(d) if d else ""

    def head(title):
        print(f"| {title} | " + " | ".join("exact" if c == "exact" else f"{c}" for c in cols) + " |")
        print("|---|" + "---|" * len(cols))

    print("recall@10 against the exact fp32 reference / median single-query ms (columns: exact search, then candidates)\n")
    head("configuration")
    for n in order:
        print(f"| {n} | " + " | ".join(cell(configs[n].get(c), lambda d: f"{d['recall']:.4f} / {d['median_ms']:.2f}") for c in cols) + " |")
    print("\np95 single-query ms / batch of 32: ms per query\n")
    head("configuration")
    for n in order:
        print(f"| {n} | " + " | ".join(cell(configs[n].get(c), lambda d: f"{d['p95_ms']:.2f} / " + (f"{d['batch32_ms_per_query']:.2f}" if d.get("batch32_ms_per_query") is not None else "-")) for c in cols) + " |")
    print("\nmemory (MB) and open time\n")
    print("| configuration | open | vectors | codes | managed heap after GC | RSS (anonymous + file-backed) |")
    print("|---|---|---|---|---|---|")
    print("\n".join(memory))
    print("\nsteps:\n" + "\n".join(steps))


if __name__ == "__main__":
    main()
