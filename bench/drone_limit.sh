#!/usr/bin/env bash
# Detection limit of the drone sensor presets by ground sample distance (issue 14):
# for each preset and GSD, a plume-free scene (`simulate scene --no-plumes`, the preset's
# nominal noise) and `plumewatch limit` on it at 2 m/s wind. Prints a markdown table of
# Q50 and Q90 with their 95 % intervals, the window the limit used and its time.
#
#   bench/drone_limit.sh [BINARY] [SEED] [RUNS]
#
# The same noise per pixel at every GSD (fixed sensor noise): only the pixel size
# changes. Scenes are 400 x 400 pixels; they are deleted at the end.
set -euo pipefail
bin=${1:-target/release/plumewatch}
seed=${2:-21}
runs=${3:-60}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "| preset | GSD (m) | window (nm) | Q50 (kg/h) | 95 % CI | Q90 (kg/h) | 95 % CI | limit time (s) |"
echo "|---|---:|---|---:|---|---:|---|---:|"
for preset in drone-swir drone-ingaas; do
    for gsd in 0.3 0.5 1 3; do
        scene="$work/$preset-$gsd"
        "$bin" -q simulate scene --sensor "$preset" --lines 400 --samples 400 --gsd "$gsd" \
            --seed "$seed" --no-plumes -o "$scene"
        "$bin" -q limit --cube "$scene/radiance.hdr" --wind 2 --runs "$runs" \
            --q-range 0.05,1000 -o "$scene-limit"
        python3 - "$preset" "$gsd" "$scene-limit/limit.json" "$scene/radiance.hdr" <<'PY'
import json, sys
preset, gsd, path, hdr = sys.argv[1:5]
r = json.load(open(path))
est = r["limit"]["estimate"]
fit = est.get("fit") or {}
def f(k):
    v = fit.get(k)
    return "n/a" if v is None else f"{v:.2g}" if v < 10 else f"{v:.0f}"
def ci(k):
    v = fit.get(k)
    return "n/a" if not v else f"{v[0]:.2g}–{v[1]:.2g}"
lo, hi = r["window_nm"]
print(f"| {preset} | {gsd} | {lo:.0f}–{hi:.0f} ({r['window_bands']} bands) | {f('q50_kg_h')} | {ci('q50_ci_kg_h')} "
      f"| {f('q90_kg_h')} | {ci('q90_ci_kg_h')} | {r['elapsed_s']:.1f} |")
PY
        rm -rf "$scene" "$scene-limit"
    done
done
