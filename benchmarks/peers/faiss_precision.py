#!/usr/bin/env python3
"""FAISS peers of the storage precisions on real features (the FAISS side of `--recall`, docs/storage.md).

Usage: faiss_precision.py FILE [queries]
FILE is a raw little-endian float32 file of 4096-d rows (e.g. /work/big/features/resnet18-4096.f32). The same rows
as `ImageSimilarity.Benchmarks --recall FILE queries` are held out as queries (spread evenly over the file); the rest
are normalised and indexed in IndexFlatIP (exact), IndexScalarQuantizer QT_8bit (per-dimension int8, the closest FAISS
analogue of the int8 precision) and IndexBinaryFlat over median-thresholded bits with exact re-rank of the best
candidates. Prints recall@10 against IndexFlatIP and the median single-query time (one query at a time).
Needs Debian's python3-faiss and python3-numpy (eng/install-prerequisites.sh --bench).
"""
import sys
import time

import faiss
import numpy as np


def median_ms(run, queries):
    times = []
    out = []
    for q in queries:
        t = time.perf_counter()
        out.append(run(q[None, :]))
        times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times)), np.vstack(out)


def main():
    path = sys.argv[1]
    query_count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    rows = np.fromfile(path, dtype="<f4").reshape(-1, 4096)
    step = max(1, len(rows) // query_count)
    held = np.array([i for i in range(len(rows)) if i % step == step // 2][:query_count])
    mask = np.ones(len(rows), bool)
    mask[held] = False
    base = rows[mask] / np.linalg.norm(rows[mask], axis=1, keepdims=True)
    queries = rows[held] / np.linalg.norm(rows[held], axis=1, keepdims=True)
    base = np.ascontiguousarray(base, dtype="f4")
    queries = np.ascontiguousarray(queries, dtype="f4")
    print(f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads: {len(base):,} stored rows, {len(queries)} queries")

    flat = faiss.IndexFlatIP(4096)
    flat.add(base)
    ms, truth = median_ms(lambda q: flat.search(q, 10)[1], queries)
    print(f"faiss: IndexFlatIP: recall@10 1.0000, vectors {base.nbytes / 1e6:.1f} MB, median query {ms:.2f} ms")

    def recall(found):
        return np.mean([len(set(truth[i]) & set(found[i])) / 10 for i in range(len(truth))])

    sq = faiss.IndexScalarQuantizer(4096, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    sq.train(base)
    sq.add(base)
    ms, found = median_ms(lambda q: sq.search(q, 10)[1], queries)
    print(f"faiss: IndexScalarQuantizer QT_8bit: recall@10 {recall(found):.4f}, codes {sq.sa_code_size() * len(base) / 1e6:.1f} MB, median query {ms:.2f} ms")

    medians = np.median(base, axis=0)
    binary = faiss.IndexBinaryFlat(4096)
    binary.add(np.packbits(base > medians, axis=1))
    for candidates in (50, 100, 200, 400):
        def two_stage(q, k=candidates):
            _, ids = binary.search(np.packbits(q > medians, axis=1), k)
            ids = ids[0]
            return ids[np.argsort(-(base[ids] @ q[0]))][:10]
        ms, found = median_ms(two_stage, queries)
        print(f"faiss: IndexBinaryFlat + exact re-rank of {candidates}: recall@10 {recall(found):.4f}, codes {len(base) * 512 / 1e6:.1f} MB, median query {ms:.2f} ms")


if __name__ == "__main__":
    main()
