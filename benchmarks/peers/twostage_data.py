#!/usr/bin/env python3
"""Data and exact fp32 reference for the two-stage measurements at 100,000 and 1,000,000 rows (issue 17).

Usage:
  twostage_data.py generate FEATURES OUT_DIR [rows] [queries]
  twostage_data.py reference OUT_DIR rows [chunk_rows]

generate: FEATURES is a raw little-endian float32 file of 4096-d rows (/work/big/features/resnet18-4096.f32).
  `queries` rows (default 200) spread evenly over it are held out as queries, by the same rule as
  `ImageSimilarity.Benchmarks --twostage/--recall` (row i with i % step == step // 2, step = total // queries);
  they are written normalised to OUT_DIR/queries.f32. The other rows, normalised, are the first rows of
  OUT_DIR/base.f32; seeded noisy replicas of them fill it up to `rows` (default 1,000,000): a source row drawn
  uniformly, each value times 1 + 0.1 N(0,1), kept non-negative, normalised (the rule of TwoStageRecall.cs; the
  random stream is numpy's, seed 20261126, not .NET's). Every row of base.f32 is a unit vector, raw float32, no
  header. The store ids of the benchmarks are the row numbers. A prefix of base.f32 is the smaller store (the
  100,000-row store is its first 100,000 rows). Written once; an existing complete file is kept.

reference: the exact fp32 cosine top 10 of every query over the first `rows` rows of base.f32, computed in chunks
  from a numpy memmap (one chunk of `chunk_rows` rows in memory at a time, float32 matmul, running top 10), so the
  machine never holds the whole file. Writes OUT_DIR/reference-ROWS.i32 (queries x 10 int32 row numbers, best
  first) and reference-ROWS.f32 (their cosines). Debian's numpy runs on the reference BLAS (about 2 GFLOPS here:
  113 s at 100,000 rows, about 20-50 min at 1,000,000 on the shared machine); `ImageSimilarity.Benchmarks
  --twostage-reference BASE.f32 QUERIES.f32 ROWS OUT_DIR/reference-ROWS` computes the same with libtorch's GEMM
  (19 s at 100,000, identical ids to this script's).
"""
import json
import os
import sys
import time

import numpy as np

DIM = 4096
SEED = 20261126


def held_out(total, query_count):
    step = max(1, total // query_count)
    return [i for i in range(total) if i % step == step // 2][:query_count]


def normalise(rows):
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / norms).astype("<f4")


def generate(features, out_dir, rows, query_count):
    source = np.fromfile(features, dtype="<f4").reshape(-1, DIM)
    held = held_out(len(source), query_count)
    mask = np.ones(len(source), bool)
    mask[held] = False
    real = normalise(source[mask])
    queries = normalise(source[held])
    os.makedirs(out_dir, exist_ok=True)
    queries.tofile(os.path.join(out_dir, "queries.f32"))
    base_path = os.path.join(out_dir, "base.f32")
    if os.path.exists(base_path) and os.path.getsize(base_path) == rows * DIM * 4:
        print(f"{base_path} already complete; kept")
        return
    start = time.time()
    rng = np.random.default_rng(SEED)
    with open(base_path + ".part", "wb") as out:
        real.tofile(out)
        written = len(real)
        while written < rows:
            n = min(8192, rows - written)
            picks = rng.integers(0, len(real), n)
            noise = rng.standard_normal((n, DIM), dtype=np.float32)
            copies = np.maximum(0, real[picks] * (1 + np.float32(0.1) * noise))
            keep = copies.any(axis=1)
            copies = normalise(copies[keep])
            copies.tofile(out)
            written += len(copies)
            if written // 100_000 != (written - len(copies)) // 100_000:
                print(f"{written:,} rows, {time.time() - start:.0f} s", flush=True)
    os.replace(base_path + ".part", base_path)
    info = {"features": features, "rows": rows, "real_rows": len(real), "queries": len(queries),
            "held_out_rows_of_features": held, "seed": SEED,
            "rule": "row < real_rows: real row (file order, held-out rows skipped), normalised; "
                    "else copy of a uniformly drawn real row, value * (1 + 0.1 N(0,1)), max 0, normalised",
            "seconds": round(time.time() - start, 1)}
    with open(os.path.join(out_dir, "base.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(f"wrote {rows:,} rows to {base_path} in {time.time() - start:.0f} s")


def reference(out_dir, rows, chunk_rows):
    base = np.memmap(os.path.join(out_dir, "base.f32"), dtype="<f4", mode="r").reshape(-1, DIM)
    if len(base) < rows:
        sys.exit(f"base.f32 has {len(base):,} rows, fewer than {rows:,}")
    queries = np.fromfile(os.path.join(out_dir, "queries.f32"), dtype="<f4").reshape(-1, DIM)
    best_ids = np.full((len(queries), 10), -1, np.int64)
    best_scores = np.full((len(queries), 10), -np.inf, np.float32)
    start = time.time()
    for first in range(0, rows, chunk_rows):
        chunk = np.array(base[first:min(rows, first + chunk_rows)])
        scores = queries @ chunk.T
        ids = np.argpartition(-scores, 10, axis=1)[:, :10] if scores.shape[1] > 10 else np.tile(np.arange(scores.shape[1]), (len(queries), 1))
        cand_scores = np.concatenate([best_scores, np.take_along_axis(scores, ids, axis=1)], axis=1)
        cand_ids = np.concatenate([best_ids, ids + first], axis=1)
        order = np.lexsort((cand_ids, -cand_scores), axis=1)[:, :10]
        best_scores = np.take_along_axis(cand_scores, order, axis=1)
        best_ids = np.take_along_axis(cand_ids, order, axis=1)
        print(f"reference {rows:,}: {first + len(chunk):,} rows, {time.time() - start:.0f} s", flush=True)
    best_ids.astype("<i4").tofile(os.path.join(out_dir, f"reference-{rows}.i32"))
    best_scores.astype("<f4").tofile(os.path.join(out_dir, f"reference-{rows}.f32"))
    print(f"reference {rows:,}: written in {time.time() - start:.0f} s; 10th cosine median {np.median(best_scores[:, 9]):.4f}")


def main():
    if sys.argv[1] == "generate":
        generate(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 1_000_000,
                 int(sys.argv[5]) if len(sys.argv) > 5 else 200)
    elif sys.argv[1] == "reference":
        reference(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 50_000)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
