#!/usr/bin/env bash
# Side-by-side run for docs/benchmarks.md: this library against PyTorch, ONNX Runtime, FAISS and numpy, one after
# the other on the same machine and data, then a markdown report.
#
#   benchmarks/peers/run.sh            full run (about 8-10 minutes on 2 cores), rewrites the results in docs/benchmarks.md
#   benchmarks/peers/run.sh --quick    dry run with tiny sizes (about 2 minutes), report to stdout only
#
# Needs Debian's /usr/bin/python3 with torch + torchvision (eng/install-prerequisites.sh --test) and numpy + FAISS
# (--bench). Weights are seeded random VGG16 weights written by the real torch.save (tests/reference/vgg16_reference.py)
# and the ONNX file is exported from the same torchvision network with torch.onnx.export, both into a temporary folder.
# Every measurement is one warm-up, then the median of N runs; every tool uses all cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
quick=0
output=docs/benchmarks.md
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --output=*) output="${arg#--output=}" ;;
    *) echo "run.sh: unknown argument '$arg' (use --quick or --output=FILE)" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d -t imgsim-peers-XXXXXX)
trap 'rm -rf "$work"' EXIT
results="$work/results.jsonl"
threads=$(nproc)
py=/usr/bin/python3
if [ "$quick" -eq 1 ]; then
  batches=1,2; iterations=1; probe_iterations=1; counts="2000"; search_iterations=3; gemm=1024; cosine_images=2
else
  batches=1,8,16; iterations=5; probe_iterations=3; counts="10000 100000"; search_iterations=7; gemm=4096; cosine_images=16
fi
failures=0
# Runs one measurement and appends its JSON lines; a failed step is reported and the run goes on (one missing peer
# must not cost the other measurements), and the exit code says so at the end.
measure() {
  set +e
  "$@" | grep --line-buffered '^{' | tee -a "$results"
  local status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -ne 0 ]; then echo "run.sh: FAILED ($status): $*" >&2; failures=$((failures + 1)); fi
}
step() { printf '\n== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)" >&2; }

step "build"
dotnet build benchmarks/ImageSimilarity.Benchmarks -c Release -v quiet -nologo >&2
dotnet build benchmarks/OnnxRuntimePeer -c Release -v quiet -nologo >&2
ours="dotnet benchmarks/ImageSimilarity.Benchmarks/bin/Release/net10.0/ImageSimilarity.Benchmarks.dll"
ort="dotnet benchmarks/OnnxRuntimePeer/bin/Release/net10.0/OnnxRuntimePeer.dll"

step "machine"
$py benchmarks/peers/report.py machine >> "$results"

step "weights (torch.save, seeded random) and ONNX export"
if [ -n "${IMAGESIMILARITY_BENCH_WEIGHTS_DIR:-}" ]; then
  weights="$IMAGESIMILARITY_BENCH_WEIGHTS_DIR"
else
  weights="$work/weights"
  $py tests/reference/vgg16_reference.py full "$weights" >/dev/null
fi
$py benchmarks/peers/torch_peers.py onnx "$work/vgg16_fc2.onnx" >&2

step "GEMM probes"
measure $py benchmarks/peers/torch_peers.py gemm --threads "$threads" --size "$gemm" --iterations "$iterations"
measure $ours --peer-gemm --threads "$threads" --size "$gemm" --iterations "$iterations"

step "extraction: PyTorch"
measure $py benchmarks/peers/torch_peers.py forward --threads "$threads" --batches "$batches" --iterations "$iterations"
step "extraction: ONNX Runtime"
measure $ort "$work/vgg16_fc2.onnx" --threads "$threads" --batches "$batches" --iterations "$iterations"
step "extraction: ImageSimilarity (fp32, bf16)"
measure $ours --peer-extraction --weights "$weights/vgg16_zip.pth" --threads "$threads" --batches "$batches" --precision fp32,bf16 --iterations "$iterations"
step "extraction: ImageSimilarity with the NCHW layout it used before channels-last (the layout probe)"
measure $ours --peer-extraction --layout nchw --weights "$weights/vgg16_zip.pth" --threads "$threads" --batches "$batches" --precision fp32,bf16 --iterations "$probe_iterations"
step "weight loading"
measure $ours --peer-load --directory "$weights" --iterations 3
step "bf16 against fp32 features on real images"
images=/work/shared/datasets/seed-sample/images
[ -d "$images" ] || images="$weights/images"
measure $ours --peer-cosine --images "$images" --weights "$weights/vgg16_zip.pth" --count "$cosine_images"

step "search: ImageSimilarity"
measure $ours --peer-search --counts "${counts// /,}" --iterations "$search_iterations"
for count in $counts; do
  step "search: numpy and FAISS, $count vectors"
  measure $py benchmarks/peers/search_peers.py --count "$count" --queries "$search_iterations" --json
done

step "report"
if [ "$quick" -eq 1 ]; then
  $py benchmarks/peers/report.py report "$results"
else
  cp "$results" "$work/keep.jsonl"
  $py benchmarks/peers/report.py report "$results" --into "$output"
  mkdir -p benchmarks/peers/results
  cp "$results" "benchmarks/peers/results/$(date -u +%Y-%m-%d).jsonl"
  echo "run.sh: results written into $output and benchmarks/peers/results/" >&2
fi
if [ "$failures" -ne 0 ]; then echo "run.sh: $failures step(s) failed; their rows are missing from the report" >&2; exit 1; fi
