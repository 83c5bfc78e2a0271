#!/usr/bin/env bash
# ResNet18 end to end in one run: ours (FolderIndexer, ExtractAsync, model only), the ML.NET DnnFeaturizeImage peer,
# then ours again (a drift in the machine's load between the programs shows up as a difference between the two).
# Usage: benchmarks/ResNet18Throughput/run-vs-mlnet.sh IMAGE_FOLDER [REPEAT=3] > results.jsonl
# On a shared machine wrap it in `flock /work/wt/bench.lock`.
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
folder="${1:?usage: run-vs-mlnet.sh IMAGE_FOLDER [REPEAT]}"
repeat="${2:-3}"
features="$(mktemp --suffix=.f32)"
trap 'rm -f "$features"' EXIT
dotnet build "$here/benchmarks/ResNet18Throughput" -c Release -v q -nologo >&2
dotnet build "$here/benchmarks/MlNetResNet18Peer" -c Release -v q -nologo >&2
ours="$here/benchmarks/ResNet18Throughput/bin/Release/net10.0/ResNet18Throughput.dll"
echo "{\"cpu\":\"$(lscpu | sed -n 's/^Model name: *//p')\",\"load_average\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"utc\":\"$(date -u +%FT%TZ)\"}"
dotnet "$ours" resnet18 "$folder" --repeat "$repeat"
dotnet "$here/benchmarks/MlNetResNet18Peer/bin/Release/net10.0/MlNetResNet18Peer.dll" "$folder" --repeat "$repeat" --features "$features"
dotnet "$ours" resnet18 "$folder" --repeat "$repeat" --mlnet-features "$features"
echo "{\"load_average_end\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"utc\":\"$(date -u +%FT%TZ)\"}"
