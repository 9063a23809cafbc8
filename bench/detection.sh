#!/usr/bin/env bash
# The detection benchmark: cluttered AVIRIS-NG scenes at 3 m GSD with their plume-free
# twins, scanned at the default operating point with the wind an analyst would have
# (the scene mean), scored by `plumewatch eval --campaign`: false sites per km² on the
# twins and on the plume scenes, POD per emission-rate bin (dark ground apart), the
# logistic POD(Q) fit with Q50/Q90 and their intervals, localisation error, rate parity
# and interval coverage (OUT/detection.md, OUT/detection.json).
#
#   bench/detection.sh [--set test|tuning] [--scenes N] [--bin PLUMEWATCH] [-o OUT]
#                      [--work DIR] [--wind-error REL] [-- EXTRA SCAN ARGUMENTS]
#
# Seed sets: `tuning` (seeds 101, 102, …) is the set parameters may be fitted on;
# `test` (seeds 2001, 2002, …, the default) is never tuned on: report its figures.
# Each scene: 512 × 256 pixels with the simulator's default (full) clutter, 8 sources
# with rates log-uniform in 2–300 kg/h, one wind per scene drawn from the seed (2–5 m/s
# from any direction). Sites within 5 px
# of a source find it; a plume-scene site away from every source and off the truth
# mask is false; every twin site is false.
# The scan is given the scene's wind exactly, and so told `--wind-error 0` (the rates'
# intervals then hold the U_eff model and retrieval noise only); --wind-error REL
# states another error.
# Extra scan arguments (after --) go to every scan, e.g. `-- --algo mag1c`.
# --work DIR keeps the truths and scan outputs (not the radiance) there.
# Calibration: each twin is also scanned at --false-sites-per-km2 0.01, 0.03, 0.1, 0.3
# and 1, vetting on as at the default operating point (the empirical null counts the
# false sites vetting would keep) (--calibration-rates "R1 R2 …" to change, "" to skip;
# extra scan arguments apply to them too, e.g. `-- --min-gas-probability 0` for the
# empirical null alone); detection.md then holds requested against observed false sites
# per km² with Poisson intervals, and calibration.png the plot.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
set_name=test n=10 bin="$root/target/release/plumewatch" out="" keep=""
rates="0.01 0.03 0.1 0.3 1"
wind_error=0
lines=512 samples=256 sources=8
while [ $# -gt 0 ]; do
    case "$1" in
        --set) set_name=$2; shift 2 ;;
        --scenes) n=$2; shift 2 ;;
        --bin) bin=$2; shift 2 ;;
        -o) out=$2; shift 2 ;;
        --lines) lines=$2; shift 2 ;;
        --samples) samples=$2; shift 2 ;;
        --sources) sources=$2; shift 2 ;;
        --work) keep=$2; shift 2 ;;
        --calibration-rates) rates=$2; shift 2 ;;
        --wind-error) wind_error=$2; shift 2 ;;
        --) shift; break ;;
        *) echo "detection.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
case "$set_name" in
    tuning) base=100 ;;
    test) base=2000 ;;
    *) echo "detection.sh: --set $set_name: expected test or tuning" >&2; exit 2 ;;
esac
[ -n "$out" ] || out="bench-detection-$set_name"
[ -x "$bin" ] || { echo "detection.sh: $bin: not built (cargo build --release)" >&2; exit 2; }
if [ -n "$keep" ]; then
    rm -rf "$keep"; mkdir -p "$keep"; work=$(cd "$keep" && pwd)
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi
manifest="$work/manifest.json"
echo "[" > "$manifest"
scan_seconds=0
for i in $(seq "$n"); do
    seed=$((base + i))
    # One wind per scene from the seed: 2–5 m/s, from any direction.
    wind=$(awk -v s="$seed" 'BEGIN { srand(s); printf "%.2f,%.1f", 2 + 3 * rand(), 360 * rand() }')
    for kind in scene twin; do
        extra=()
        [ "$kind" = twin ] && extra=(--no-plumes)
        "$bin" -q simulate scene --sensor aviris-ng --lines "$lines" --samples "$samples" \
            --gsd 3 --seed "$seed" --random-sources "$sources" --rate-range 2,300 \
            --wind "$wind" "${extra[@]}" -o "$work/$kind-$seed"
        s=$(date +%s.%N)
        "$bin" -q scan "$work/$kind-$seed/radiance.hdr" --wind "$wind" --wind-error "$wind_error" --limit-runs 0 \
            "$@" -o "$work/$kind-$seed/scan"
        e=$(date +%s.%N)
        scan_seconds=$(echo "$scan_seconds + $e - $s" | bc)
        if [ "$kind" = twin ]; then
            for r in $rates; do
                "$bin" -q scan "$work/$kind-$seed/radiance.hdr" --wind "$wind" --wind-error "$wind_error" --limit-runs 0 \
                    --false-sites-per-km2 "$r" "$@" -o "$work/$kind-$seed/cal-$r"
                rm -f "$work/$kind-$seed/cal-$r"/*.tif
            done
        fi
        rm -f "$work/$kind-$seed"/radiance.* "$work/$kind-$seed"/scan/*.tif
    done
    cal=""
    for r in $rates; do
        cal="$cal${cal:+, }{\"false_sites_per_km2\": $r, \"sites\": \"$work/twin-$seed/cal-$r/sites.geojson\"}"
    done
    sep=","; [ "$i" -eq "$n" ] && sep=""
    printf '{"name": "seed %s", "truth": "%s", "sites": "%s", "twin_sites": "%s", "calibration": [%s]}%s\n' \
        "$seed" "$work/scene-$seed" "$work/scene-$seed/scan/sites.geojson" \
        "$work/twin-$seed/scan/sites.geojson" "$cal" "$sep" >> "$manifest"
    echo "seed $seed (wind $wind) done" >&2
done
echo "]" >> "$manifest"
rm -rf "$out"
"$bin" eval --campaign "$manifest" -o "$out"
echo "scan time: $scan_seconds s for $((2 * n)) scans" | tee -a "$out/detection.md"
echo "set: $set_name (seeds $((base + 1))–$((base + n))); scan arguments: --wind <scene wind> --limit-runs 0 $*" | tee -a "$out/detection.md"
