#!/usr/bin/env bash
# Runs a fuzz command until its process tree has used BUDGET CPU-seconds (not wall
# seconds: the machine may be shared), then stops it and prints the CPU time used.
# Exit status: the fuzz command's own when it ends first (a crash), 0 when the budget
# is reached without one.
#   bench/fuzz_cpu.sh BUDGET_S COMMAND ARGS...
set -u
budget=$1; shift
"$@" &
pid=$!
tick=$(getconf CLK_TCK)
cpu_of_tree() {
  # libFuzzer without -jobs/-fork is one process: its user + system ticks.
  awk -v t="$tick" '{print int(($14 + $15) / t)}' /proc/$pid/stat 2>/dev/null || echo 0
}
start=$(date +%s)
while kill -0 "$pid" 2>/dev/null; do
  used=$(cpu_of_tree)
  if [ "$used" -ge "$budget" ]; then
    kill -INT "$pid"; wait "$pid"
    echo "fuzz_cpu: budget reached: ${used} CPU-s in $(( $(date +%s) - start )) wall-s, no crash"
    exit 0
  fi
  sleep 5
done
wait "$pid"; rc=$?
echo "fuzz_cpu: command ended with status $rc after $(cpu_of_tree) CPU-s (expected the budget to end it)"
exit $rc
