#!/usr/bin/python3
"""Exact top-10 cosine search with numpy and FAISS IndexFlatIP, for comparison with the .NET benchmarks.

Same shape and distribution as benchmarks/ImageSimilarity.Benchmarks (seeded uniform [0, 1) vectors like ReLU
features, normalised rows, 4096 dimensions), one query at a time and in batches of 32. Run it with Debian's
interpreter right after the BenchmarkDotNet search benchmarks so both see the same machine state:

    /usr/bin/python3 benchmarks/peers/search_peers.py --count 100000 --queries 10

numpy comes from python3-numpy, FAISS from python3-faiss (eng/install-prerequisites.sh --bench).
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np


def timed(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def top_k(scores, k):
    idx = np.argpartition(-scores, k - 1)[:k]
    return idx[np.argsort(-scores[idx], kind="stable")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--dimension", type=int, default=4096)
    parser.add_argument("--queries", type=int, default=10, help="single queries timed (median reported)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--json", action="store_true", help="also print one JSON object per measurement (for peers/run.sh)")
    args = parser.parse_args()

    def emit(peer, search, seconds, **extra):
        if args.json:
            print(json.dumps({"peer": peer, "search": search, "count": args.count, "precision": "fp32", "ms": seconds * 1e3, **extra}), flush=True)

    rng = np.random.default_rng(42)
    data = rng.random((args.count, args.dimension), dtype=np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    queries = rng.random((args.batch, args.dimension), dtype=np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    gb = data.nbytes / 1e9
    print(f"data: {args.count} x {args.dimension} float32 = {gb:.2f} GB; numpy {np.__version__}")

    # Memory read bandwidth as numpy sees it: one pass over the bytes (a sum of each row, in BLAS).
    ones = np.ones(args.dimension, dtype=np.float32)
    stream = timed(lambda: data @ ones, 3)
    print(f"numpy  stream once (data @ ones): {stream * 1e3:8.1f} ms  ({gb / stream:.1f} GB/s)")
    emit("numpy", "stream", stream, gb_per_s=gb / stream, version=np.__version__)

    qi = iter(range(10**9))
    single = timed(lambda: top_k(data @ queries[next(qi) % args.batch], 10), args.queries)
    print(f"numpy  top-10, 1 query:           {single * 1e3:8.1f} ms/query")
    emit("numpy", "single", single, version=np.__version__)
    batch = timed(lambda: [top_k(col, 10) for col in (data @ queries.T).T], 3)
    print(f"numpy  top-10, batch of {args.batch}:       {batch * 1e3 / args.batch:8.1f} ms/query")
    emit("numpy", f"batch{args.batch}", batch / args.batch, version=np.__version__)

    try:
        import faiss
    except ImportError:
        print("faiss: not installed (apt-get install python3-faiss); skipped")
        return 0

    index = faiss.IndexFlatIP(args.dimension)
    index.add(data)
    qi = iter(range(10**9))

    def faiss_one():
        i = next(qi) % args.batch
        return index.search(queries[i : i + 1], 10)

    single = timed(faiss_one, args.queries)
    print(f"faiss  IndexFlatIP top-10, 1 query:     {single * 1e3:8.1f} ms/query (faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads)")
    emit("faiss", "single", single, version=faiss.__version__, threads=faiss.omp_get_max_threads())
    batch = timed(lambda: index.search(queries, 10), 3)
    print(f"faiss  IndexFlatIP top-10, batch of {args.batch}: {batch * 1e3 / args.batch:8.1f} ms/query")
    emit("faiss", f"batch{args.batch}", batch / args.batch, version=faiss.__version__, threads=faiss.omp_get_max_threads())

    # Sanity: both peers agree on the ranking.
    _, ids = index.search(queries[:1], 10)
    assert list(ids[0]) == list(top_k(data @ queries[0], 10)), "numpy and faiss disagree"
    return 0


if __name__ == "__main__":
    sys.exit(main())
