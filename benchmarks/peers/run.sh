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
$py benchmarks/peers/torch_peers.py gemm --threads "$threads" --size "$gemm" --iterations "$iterations" | tee -a "$results"
$ours --peer-gemm --threads "$threads" --size "$gemm" --iterations "$iterations" | tee -a "$results"

step "extraction: PyTorch"
$py benchmarks/peers/torch_peers.py forward --threads "$threads" --batches "$batches" --iterations "$iterations" | tee -a "$results"
step "extraction: ONNX Runtime"
$ort "$work/vgg16_fc2.onnx" --threads "$threads" --batches "$batches" --iterations "$iterations" | tee -a "$results"
step "extraction: ImageSimilarity (fp32, bf16)"
$ours --peer-extraction --weights "$weights/vgg16_zip.pth" --threads "$threads" --batches "$batches" --precision fp32,bf16 --iterations "$iterations" | tee -a "$results"
step "extraction probe: the same network as plain TorchSharp calls, NCHW and channels-last layout"
# (the library itself runs channels-last since this comparison; the NCHW probe is what it did before)
for engine in functional channels-last; do
  $ours --peer-extraction --engine "$engine" --threads "$threads" --batches "$batches" --precision fp32,bf16 --iterations "$probe_iterations" | tee -a "$results"
done
step "weight loading"
$ours --peer-load --directory "$weights" --iterations 3 | tee -a "$results"
step "bf16 against fp32 features on real images"
images=/work/shared/datasets/seed-sample/images
[ -d "$images" ] || images="$weights/images"
$ours --peer-cosine --images "$images" --weights "$weights/vgg16_zip.pth" --count "$cosine_images" | tee -a "$results"

step "search: ImageSimilarity"
$ours --peer-search --counts "${counts// /,}" --iterations "$search_iterations" | grep '^{' | tee -a "$results"
for count in $counts; do
  step "search: numpy and FAISS, $count vectors"
  $py benchmarks/peers/search_peers.py --count "$count" --queries "$search_iterations" --json | grep '^{' | tee -a "$results"
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
