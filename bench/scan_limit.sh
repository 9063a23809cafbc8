#!/usr/bin/env bash
# Side-by-side timing of `plumewatch scan` with its default detection-limit estimate
# (10 injection runs) on one flight line, for two builds, alternating runs so that
# machine noise hits both alike. Prints each run's wall time, the median ratio, and
# each build's Q50/Q90 with their 95 % intervals (from report.html).
#
#   bench/scan_limit.sh OLD_BINARY NEW_BINARY CUBE [RUNS]
#
# Make the flight line with:
#   plumewatch simulate scene --sensor aviris-ng --lines 5000 --samples 600 --gsd 3 \
#       --seed 11 --random-sources 12 -o /tmp/line600x5000
set -euo pipefail
old=$1 new=$2 cube=$3 runs=${4:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
declare -a t_old t_new
for i in $(seq "$runs"); do
    for which in old new; do
        bin=${!which}
        out="$work/$which-$i"
        s=$(date +%s.%N)
        "$bin" -q scan "$cube" --wind 3,270 -o "$out"
        e=$(date +%s.%N)
        t=$(echo "$e - $s" | bc)
        echo "$which run $i: $t s"
        if [ "$which" = old ]; then t_old+=("$t"); else t_new+=("$t"); fi
        grep -o 'Smallest source this scene reveals[^<]*<b>[^<]*</b>[^<]*<b>[^<]*</b>' "$out/report.html" | sed 's/<[^>]*>//g' | sed "s/^/  $which: /"
        grep -o 'Q50 [0-9.]*–[0-9.]*, Q90 [0-9.]*–[0-9.]* kg/h' "$out/report.html" | sed "s/^/  $which 95% intervals: /"
        [ "$i" -lt "$runs" ] && rm -rf "$out"
    done
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mo=$(median "${t_old[@]}"); mn=$(median "${t_new[@]}")
echo "median: old $mo s, new $mn s, old/new = $(echo "scale=2; $mo / $mn" | bc)"
