#!/usr/bin/env bash
# Packs ImageSimilarity and ImageSimilarity.OnnxRuntime and builds + runs a consumer that references only the
# latter's .nupkg: the pretrained ResNet18 files must reach its output folder without any ML.NET assembly.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
version="0.1.0-ci.$(date +%Y%m%d%H%M%S)"

echo "test-onnx-package: packing ImageSimilarity and ImageSimilarity.OnnxRuntime $version"
dotnet pack "$repo/src/ImageSimilarity/ImageSimilarity.csproj" -c Release -o "$work/feed" -p:Version="$version" -v:q -nologo
dotnet pack "$repo/src/ImageSimilarity.OnnxRuntime/ImageSimilarity.OnnxRuntime.csproj" -c Release -o "$work/feed" -p:Version="$version" -v:q -nologo
ls "$work/feed"

mkdir -p "$work/consumer"
sed "s/@VERSION@/$version/" "$repo/tests/OnnxPackageConsumer/OnnxPackageConsumer.csproj.template" > "$work/consumer/OnnxPackageConsumer.csproj"
cp "$repo/tests/OnnxPackageConsumer/Program.cs" "$work/consumer/"
cat > "$work/consumer/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$work/feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="local"><package pattern="ImageSimilarity" /><package pattern="ImageSimilarity.OnnxRuntime" /></packageSource>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
  </packageSourceMapping>
</configuration>
XML
echo "<Project />" > "$work/consumer/Directory.Build.props"
echo "<Project />" > "$work/consumer/Directory.Packages.props"

shared="${IMAGESIMILARITY_SHARED:-$repo/../shared}"
images=("$shared/datasets/seed-sample/images/Dog1.jpeg" "$shared/datasets/seed-sample/images/Cat5.jpeg")
echo "test-onnx-package: restoring and running the consumer"
dotnet run --project "$work/consumer/OnnxPackageConsumer.csproj" -c Release -- "${images[@]}"
