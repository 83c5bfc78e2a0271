#!/usr/bin/env bash
# Packs the library and builds + runs a consumer project that gets ImageSimilarity from that .nupkg only
# (not a project reference), as a user's project would.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
version="0.1.0-ci.$(date +%Y%m%d%H%M%S)"

echo "test-package: packing ImageSimilarity $version"
dotnet pack "$repo/src/ImageSimilarity/ImageSimilarity.csproj" -c Release -o "$work/feed" -p:Version="$version" -v:q -nologo
ls "$work/feed"

mkdir -p "$work/consumer"
sed "s/@VERSION@/$version/" "$repo/tests/PackageConsumer/PackageConsumer.csproj.template" > "$work/consumer/PackageConsumer.csproj"
cp "$repo/tests/PackageConsumer/Program.cs" "$work/consumer/"
# ImageSimilarity may come only from the local feed; its dependencies come from the usual feed.
cat > "$work/consumer/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$work/feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="local"><package pattern="ImageSimilarity" /></packageSource>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
  </packageSourceMapping>
</configuration>
XML
# An empty Directory.Build.props keeps the repository's (if the temp folder were inside it) out.
echo "<Project />" > "$work/consumer/Directory.Build.props"
echo "<Project />" > "$work/consumer/Directory.Packages.props"

echo "test-package: restoring and running the consumer"
dotnet run --project "$work/consumer/PackageConsumer.csproj" -c Release
