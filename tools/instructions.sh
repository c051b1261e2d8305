#!/usr/bin/env bash
# Instructions per message through the reliable FIFO stack, counted by callgrind: the
# difference between runs of 1,000 and 11,000 messages, divided by 10,000, so that start-up
# and warm-up cancel out. Deterministic for a given binary, whatever the machine's load.
# Usage: tools/instructions.sh [build/tools/lamina_bench]
set -euo pipefail
bench=${1:-build/tools/lamina_bench}
count() { # composition size messages -> instructions of the whole run
  local out n
  out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bench" --count "$1" "$2" "$3" 2>&1)
  n=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' <<<"$out")
  if [[ -z $n ]]; then
    echo "instructions.sh: callgrind failed:" >&2
    echo "$out" | tail -5 >&2
    exit 1
  fi
  echo "$n"
}
printf '%-10s %6s %14s\n' composition bytes instr/message
for composition in static dynamic; do
  for size in 64 4096; do
    small=$(count "$composition" "$size" 1000)
    large=$(count "$composition" "$size" 11000)
    printf '%-10s %6s %14s\n' "$composition" "$size" $(((large - small) / 10000))
  done
done
