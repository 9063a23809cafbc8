#!/usr/bin/env bash
# Makes the benchmark cube: avng_small (384 × 192 × 219, ENVI BIL float32) tiled
# down-track N times (default 14 → 5376 lines × 192 samples = 1,032,192 pixels).
# BIL stores whole lines one after another, so tiling down-track is concatenation.
# Usage: bench/make_cube.sh [N] [SCENE_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
n="${1:-14}"
src="${2:-$here/../../shared/data/scenes/avng_small}"
out="$here/data"
mkdir -p "$out"
lines=$(sed -n 's/^lines *= *\([0-9]*\).*/\1/p' "$src/radiance.hdr")
tmp="$out/.avng_tiled.img.tmp"
: > "$tmp"
for _ in $(seq "$n"); do cat "$src/radiance.img" >> "$tmp"; done
mv "$tmp" "$out/avng_tiled.img"
sed "s/^lines *= *[0-9]*/lines = $((lines * n))/" "$src/radiance.hdr" > "$out/avng_tiled.hdr"
echo "$out/avng_tiled.hdr: $((lines * n)) lines"
