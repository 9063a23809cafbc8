#!/usr/bin/env bash
# plumewatch stream benchmarks (issue 15): throughput, latency at the real-time rate,
# and peak memory against flight length. Writes a summary to stdout.
#
#   bench/stream.sh [PLUMEWATCH] [DATA_DIR]
#
# PLUMEWATCH defaults to target/release/plumewatch; DATA_DIR (default bench/data) holds
# the simulated 600 x 5000 AVIRIS-NG line (made on first use, 2.65 GB) and scratch
# outputs. Needs python3 with numpy for the frame generator of the memory runs.
set -euo pipefail
PW=${1:-target/release/plumewatch}
DATA=${2:-bench/data}
LINE=$DATA/avng_line
mkdir -p "$DATA"
if [ ! -f "$LINE/radiance.hdr" ]; then
  "$PW" -q simulate scene --sensor aviris-ng --lines 5000 --samples 600 --gsd 3 --seed 7 \
    --random-sources 12 -o "$LINE"
fi
CUBE=$LINE/radiance.hdr
cat "$LINE/radiance.img" > /dev/null   # into the page cache
field() { python3 -c "import json,sys; d=json.load(open('$1')); print(d$2)"; }

echo "## throughput: replay of the 600 x 5000 line as fast as possible (3 M pixels)"
for i in 1 2 3; do
  /usr/bin/time -f "%e %M" -o "$DATA/time.txt" "$PW" -q scan "$CUBE" --wind 4,270 --limit-runs 0 \
    --overwrite -o "$DATA/scan_out"
  read -r scan_s scan_kb < "$DATA/time.txt"
  /usr/bin/time -f "%e %M" -o "$DATA/time.txt" "$PW" -q stream "$CUBE" --wind 4,270 \
    --no-scan-outputs --overwrite -o "$DATA/stream_out"
  read -r stream_s stream_kb < "$DATA/time.txt"
  /usr/bin/time -f "%e %M" -o "$DATA/time.txt" "$PW" -q stream "$CUBE" --wind 4,270 \
    --overwrite -o "$DATA/stream_full"
  read -r full_s full_kb < "$DATA/time.txt"
  python3 - "$scan_s" "$stream_s" "$full_s" <<PY
import sys
scan, stream, full = map(float, sys.argv[1:])
px = 600 * 5000
print(f"run $i: scan --limit-runs 0 {scan:.2f} s; stream alerts only {stream:.2f} s = {px/stream/1e6:.2f} M px/s "
      f"= {px/stream/60000:.0f}x AVIRIS-NG real time; stream with scan outputs {full:.2f} s; stream/scan wall {stream/scan:.2f}")
PY
done
python3 - "$DATA/stream_out/stream.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
p = d["phases"]
print(f"phases (last run): detect {p['detect_s']:.2f} s, track {p['track_s']:.2f} s (of which statistics refresh "
      f"{p['refresh_s']:.2f} s), analyse {p['analyse_s']:.2f} s; {p['plumes_analysed']} plumes analysed, {d['alerts']} alerts")
PY

echo "## latency at the AVIRIS-NG line rate (--line-rate 100, 5000 lines = 50 s)"
"$PW" -q stream "$CUBE" --wind 4,270 --line-rate 100 --no-scan-outputs --overwrite -o "$DATA/stream_rt"
python3 - "$DATA/stream_rt/stream.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
warm = d["settings"]["warmup_lines"]
def q(v, p):
    v = sorted(v)
    return v[round((len(v) - 1) * p)] if v else float("nan")
steady = [l for _, last, l in d["alert_latency_s"] if last >= warm]
catch = [l for _, last, l in d["alert_latency_s"] if last < warm]
print(f"{d['alerts']} alerts; from the arrival of the line that completed a plume to its alert on disk:")
print(f"  after the warm-up ({len(steady)} alerts): p50 {1000*q(steady,.5):.1f} ms, p99 {1000*q(steady,.99):.1f} ms, max {1000*max(steady):.1f} ms")
if catch:
    print(f"  plumes in the warm-up lines, raised by the catch-up pass ({len(catch)} alerts): max {1000*max(catch):.1f} ms")
print(f"  lines from a plume's last line to the line that completed it: p50 {d['decision_lines_p50']}, p99 {d['decision_lines_p99']}")
PY

echo "## peak memory against flight length (frames on stdin, the line repeated)"
for n in 1000 10000 50000; do
  python3 - "$LINE" "$n" <<'PY' | /usr/bin/time -f "%M" -o "$DATA/time.txt" "$PW" -q stream --stdin --wind 4,270 --no-scan-outputs --overwrite -o "$DATA/stream_mem"
import json, re, sys
import numpy as np
line, n = sys.argv[1], int(sys.argv[2])
hdr = open(f"{line}/radiance.hdr").read()
wl = [float(v) for v in re.search(r"wavelength = \{([^}]*)\}", hdr).group(1).split(",")]
fw = [float(v) for v in re.search(r"fwhm = \{([^}]*)\}", hdr).group(1).split(",")]
data = np.memmap(f"{line}/radiance.img", dtype="<f4", mode="r").reshape(5000, len(wl), 600)
out = sys.stdout.buffer
h = {"samples": 600, "bands": len(wl), "data_type": "float32", "interleave": "bil",
     "wavelength_nm": wl, "fwhm_nm": fw, "gsd_m": 3.0, "name": "repeat"}
out.write((json.dumps(h) + "\n").encode())
for i in range(n):
    out.write(data[i % 5000].tobytes())
PY
  echo "$n lines: peak RSS $(cat "$DATA/time.txt") kB, $(field "$DATA/stream_mem/stream.json" "['max_lines_held']") lines held at most, $(field "$DATA/stream_mem/stream.json" "['alerts']") alerts"
done
