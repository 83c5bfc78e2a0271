#!/usr/bin/env bash
# Runs the search benchmarks (BenchmarkDotNet: memory-bandwidth baseline, fp32/half, single/batched-32 over
# 10k and 100k x 4096) and then the numpy/FAISS peers on the same-size data, one after the other, so the
# ratios come from one run on one machine state. Needs eng/install-prerequisites.sh --bench for the peers.
# Extra arguments go to BenchmarkDotNet; IMAGESIMILARITY_BENCH_ITERATIONS=10 runs more iterations.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build benchmarks/ImageSimilarity.Benchmarks -c Release -v quiet -nologo
dotnet benchmarks/ImageSimilarity.Benchmarks/bin/Release/net10.0/ImageSimilarity.Benchmarks.dll --filter '*SearchBenchmarks*' "$@"
/usr/bin/python3 benchmarks/peers/search_peers.py --count 100000 --dimension 4096 --queries 10
