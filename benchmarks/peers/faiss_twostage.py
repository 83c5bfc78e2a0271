#!/usr/bin/env python3
"""FAISS side of the two-stage measurements at 100,000 and 1,000,000 rows (issue 17, docs/storage.md).

Usage: faiss_twostage.py DATA_DIR rows [candidates] [flat_queries] [index.db|-] [timed_queries]

DATA_DIR holds base.f32, queries.f32 and reference-ROWS.i32 written by twostage_data.py; the store is the first
`rows` rows of base.f32 (unit vectors), read through a numpy memmap, never whole into memory.
- IndexFlatIP, exact: the rows are added chunk by chunk (100,000 rows at a time) to a fresh IndexFlatIP, each of the
  first `flat_queries` queries (default 20) is searched one at a time in every chunk, and a query's time is the sum
  over the chunks (the chunk loading is not timed); top 10 merged over the chunks.
- IndexBinaryFlat over median codes + exact re-rank: bit d of a row is set when its value is above dimension d's
  median; the medians come from up to 32,768 rows spread evenly over the store (row i * n // s, the lower median),
  the rule of EmbeddedVectorStore.BuildBinaryCodesAsync; with index.db the store's own medians (property
  binary_medians) are used instead and the difference is printed. The codes of all rows (n x 512 bytes) are kept in
  DATA_DIR/codes-ROWS.u8 after the first run. Per query: binary search for the best C codes, then exact re-rank of
  those C rows read from the memmapped base.f32 and top 10. One pass at the largest C over all queries warms the page
  cache and gives the recall of every C (from the prefix of the best-first candidates); each C is then timed over the
  first `timed_queries` queries (default 200; one binary search over 10^6 codes takes about half a second here).
  Candidate counts: comma-separated, default 50,100,200,400,800,1600.
Prints recall@10 against the reference, median and p95 single-query latency, memory, and JSON lines
({"tool":"faiss",...}). Needs Debian's python3-faiss and python3-numpy (eng/install-prerequisites.sh --bench).
"""
import base64
import json
import os
import sqlite3
import sys
import time

import faiss
import numpy as np

DIM = 4096
CHUNK = 100_000
MAX_MEDIAN_SAMPLE = 32_768


def rss_mb():
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    return {k: int(fields[k].split()[0]) / 1e3 for k in ("VmRSS", "RssAnon", "RssFile", "VmHWM") if k in fields}


def emit(**values):
    print(json.dumps({"tool": "faiss", **values}), flush=True)


def recall_of(found, truth):
    return float(np.mean([len(set(truth[i]) & set(found[i])) / 10 for i in range(len(found))])), \
        int(min(len(set(truth[i]) & set(found[i])) for i in range(len(found))))


def summary(times):
    return float(np.median(times)), float(np.percentile(times, 95, method="higher"))


def main():
    data, rows = sys.argv[1], int(sys.argv[2])
    counts = [int(c) for c in sys.argv[3].split(",")] if len(sys.argv) > 3 and sys.argv[3] != "-" else [50, 100, 200, 400, 800, 1600]
    flat_queries = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] != "-" else 20
    index_db = sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] != "-" else None
    timed_queries = int(sys.argv[6]) if len(sys.argv) > 6 else 200
    base = np.memmap(os.path.join(data, "base.f32"), dtype="<f4", mode="r").reshape(-1, DIM)[:rows]
    queries = np.fromfile(os.path.join(data, "queries.f32"), dtype="<f4").reshape(-1, DIM)
    truth = np.fromfile(os.path.join(data, f"reference-{rows}.i32"), dtype="<i4").reshape(len(queries), 10)
    label = f"{rows:,} rows"
    print(f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} OpenMP threads: {label}, {len(queries)} queries", flush=True)

    # Exact: IndexFlatIP chunk by chunk.
    flat_q = queries[:flat_queries]
    times = np.zeros(len(flat_q))
    best_s = np.full((len(flat_q), 10), -np.inf, np.float32)
    best_i = np.full((len(flat_q), 10), -1, np.int64)
    chunk_bytes = 0
    for first in range(0, rows, CHUNK):
        chunk = np.ascontiguousarray(base[first:first + CHUNK])
        flat = faiss.IndexFlatIP(DIM)
        flat.add(chunk)
        chunk_bytes = max(chunk_bytes, chunk.nbytes)
        flat.search(flat_q[:1], 10)
        for q in range(len(flat_q)):
            t = time.perf_counter()
            s, i = flat.search(flat_q[q:q + 1], 10)
            times[q] += time.perf_counter() - t
            cs = np.concatenate([best_s[q], s[0]])
            ci = np.concatenate([best_i[q], i[0] + first])
            order = np.lexsort((ci, -cs))[:10]
            best_s[q], best_i[q] = cs[order], ci[order]
        del flat, chunk
    ms = times * 1000
    recall, worst = recall_of(best_i, truth)
    med, p95 = summary(ms)
    print(f"faiss: {label}: IndexFlatIP (chunks of {CHUNK:,}, times summed), {len(flat_q)} queries: recall@10 {recall:.4f} (worst {worst}/10), "
          f"median {med:.1f} ms, p95 {p95:.1f} ms; {chunk_bytes / 1e6:.0f} MB per chunk in memory (whole store {base.nbytes / 1e6:.0f} MB)", flush=True)
    emit(what="flat", rows=rows, recall=recall, worst=worst, median_ms=med, p95_ms=p95, queries=len(flat_q),
         chunk_mb=chunk_bytes / 1e6, store_mb=base.nbytes / 1e6)

    # Medians and codes.
    sample = min(rows, MAX_MEDIAN_SAMPLE)
    picks = (np.arange(sample, dtype=np.int64) * rows) // sample
    medians = np.sort(np.asarray(base[picks]), axis=0)[(sample - 1) // 2]
    if index_db:
        con = sqlite3.connect(f"file:{index_db}?mode=ro", uri=True)
        text = con.execute("SELECT value FROM properties WHERE scope = 'store' AND key = 'binary_medians'").fetchone()[0]
        con.close()
        stored = np.frombuffer(base64.b64decode(text), dtype="<f4")
        print(f"faiss: {label}: store's medians vs numpy's: {np.mean(stored == medians):.4f} equal, max difference {np.max(np.abs(stored - medians)):.2e}; using the store's")
        medians = stored
    codes_path = os.path.join(data, f"codes-{rows}.u8")
    start = time.perf_counter()
    if os.path.exists(codes_path) and os.path.getsize(codes_path) == rows * DIM // 8:
        codes = np.fromfile(codes_path, dtype=np.uint8).reshape(rows, DIM // 8)
        how = "read from " + codes_path
    else:
        codes = np.empty((rows, DIM // 8), np.uint8)
        for first in range(0, rows, CHUNK):
            codes[first:first + CHUNK] = np.packbits(np.asarray(base[first:first + CHUNK]) > medians, axis=1)
        codes.tofile(codes_path)
        how = "computed from the memmapped rows"
    binary = faiss.IndexBinaryFlat(DIM)
    binary.add(codes)
    print(f"faiss: {label}: IndexBinaryFlat: {rows:,} codes ({codes.nbytes / 1e6:.1f} MB) {how} and added in {time.perf_counter() - start:.1f} s; RSS {rss_mb()}", flush=True)
    del codes

    def two_stage(q, c):
        _, ids = binary.search(np.packbits(q > medians)[None, :], c)
        ids = np.sort(ids[0][ids[0] >= 0])
        scores = np.asarray(base[ids]) @ q
        top = np.lexsort((ids, -scores))[:10]
        return ids[top]

    # One pass at the largest C over every query: warms the page cache for every candidate row and gives the recall
    # of every smaller C from the prefix of the best-first candidate list (equal to a search for C but for ties at the
    # C-th distance). Then the timed passes, one per C, over the first `timed_queries` queries.
    _, all_ids = binary.search(np.packbits(queries > medians, axis=1), max(counts))
    for c in counts:
        found = []
        for q, ids in zip(queries, all_ids):
            ids = np.sort(ids[:c][ids[:c] >= 0])
            scores = np.asarray(base[ids]) @ q
            found.append(ids[np.lexsort((ids, -scores))[:10]])
        recall, worst = recall_of(found, truth)
        ms = []
        for q in queries[:timed_queries]:
            t = time.perf_counter()
            two_stage(q, c)
            ms.append((time.perf_counter() - t) * 1000)
        med, p95 = summary(ms)
        print(f"faiss: {label}: IndexBinaryFlat + exact re-rank of {c} from the memmapped file: recall@10 {recall:.4f} (worst {worst}/10, {len(queries)} queries), "
              f"median {med:.2f} ms, p95 {p95:.2f} ms ({len(ms)} queries)", flush=True)
        emit(what="binary", rows=rows, candidates=c, recall=recall, worst=worst, median_ms=med, p95_ms=p95, queries=len(queries), timed_queries=len(ms))
    rss = rss_mb()
    print(f"faiss: {label}: memory at the end: codes {rows * DIM / 8 / 1e6:.1f} MB in the index; process RSS {rss['VmRSS']:.0f} MB "
          f"(anonymous {rss.get('RssAnon', 0):.0f}, file-backed incl. the memmap {rss.get('RssFile', 0):.0f}), peak {rss['VmHWM']:.0f} MB", flush=True)
    emit(what="memory", rows=rows, codes_mb=rows * DIM / 8 / 1e6, rss=rss)


if __name__ == "__main__":
    main()
