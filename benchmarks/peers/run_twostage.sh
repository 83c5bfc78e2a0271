#!/usr/bin/env bash
# Two-stage search at one size, ours and FAISS in one run (issue 17; docs/storage.md, "Which precision and search
# mode to choose"): ours on every prebuilt index file of that size (vectors in memory, and on disk where the library
# supports it), then FAISS (IndexFlatIP, IndexBinaryFlat + re-rank), then ours again on the first configuration, so
# the ratios come from one run. Run it under the machine's measurement lock:
#
#   flock /work/wt/bench.lock benchmarks/peers/run_twostage.sh 100000 [DATA_DIR]
#
# DATA_DIR (default /work/big/bench17) holds base.f32, queries.f32 and reference-ROWS.i32 from twostage_data.py and
# the index files index-100k-{single,half,int8}.db / index-1m-{single,int8}.db from `--twostage-build`. Environment:
# MODES (default "memory disk"), PRECISIONS (default "single int8 half"), COUNTS (default 50,...,1600),
# EXACT_QUERIES (exact searches timed per configuration; default 50 at 100,000, 20 at 1,000,000; with the vectors on
# disk EXACT_DISK_QUERIES, default 10 / 3: each streams the whole file), FAISS_TIMED_QUERIES (default 200 / 50),
# FLAT_QUERIES (FAISS IndexFlatIP queries; default 50 / 20), COLD=1 or COLD="single ..." (also a cold-page-cache pass
# per candidate count with the vectors on disk, for every precision or the ones named: drops the machine's page
# cache, root only), FAISS=0 (ours only: no FAISS step and no second run). Writes the JSON lines to
# benchmarks/peers/results/DATE-twostage-ROWS.jsonl and prints the tables (twostage_report.py).
set -u
rows=${1:?rows: 100000 or 1000000}
data=${2:-/work/big/bench17}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
case $rows in 100000) tag=100k; dq=50; ddq=10; fq=50; bq=200 ;; 1000000) tag=1m; dq=20; ddq=3; fq=20; bq=50 ;; *) tag=$rows; dq=20; ddq=3; fq=20; bq=50 ;; esac
modes=${MODES:-memory disk}
precisions=${PRECISIONS:-single int8 half}
counts=${COUNTS:-50,100,200,400,800,1600}
exact=${EXACT_QUERIES:-$dq}
exact_disk=${EXACT_DISK_QUERIES:-$ddq}
timed=${FAISS_TIMED_QUERIES:-$bq}
flat=${FLAT_QUERIES:-$fq}
out="$repo/benchmarks/peers/results/$(date -u +%Y-%m-%dT%H%M)-twostage-$rows.jsonl"
mkdir -p "$(dirname "$out")"
dotnet build "$repo/benchmarks/ImageSimilarity.Benchmarks" -c Release -v q -nologo >/dev/null || exit 1
bench="$repo/benchmarks/ImageSimilarity.Benchmarks/bin/Release/net10.0/ImageSimilarity.Benchmarks"

step() {  # step NAME: one JSON line with the time, load and CPU before each step
    printf '{"step":"%s","utc":"%s","load":"%s","cpu":"%s"}\n' "$1" "$(date -u +%FT%TZ)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
        "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" | tee -a "$out"
}

ours() {  # ours PRECISION MODE
    local index="$data/index-$tag-$1.db"
    [ -f "$index" ] || { echo "run_twostage: no $index, skipped"; return; }
    local cold=""
    [ "$2" = disk ] && { [ "${COLD:-0}" = 1 ] || [[ " ${COLD:-} " == *" $1 "* ]]; } && cold=cold
    step "ours $1 $2"
    "$bench" --twostage-index "$index" "$data/queries.f32" "$data/reference-$rows.i32" "$2" "$counts" "$([ "$2" = disk ] && echo "$exact_disk" || echo "$exact")" $cold | tee -a "$out" | grep -v '^{'
}

first=""
for precision in $precisions; do
    for mode in $modes; do
        ours "$precision" "$mode"
        [ -z "$first" ] && first="$precision $mode"
    done
done
if [ "${FAISS:-1}" != 0 ]; then
    step "faiss"
    /usr/bin/python3 "$here/faiss_twostage.py" "$data" "$rows" "$counts" "$flat" "$data/index-$tag-single.db" "$timed" | tee -a "$out" | grep -v '^{'
    [ -n "$first" ] && ours $first
fi
step "end"
/usr/bin/python3 "$here/twostage_report.py" "$out"
echo "run_twostage: raw lines in $out"
