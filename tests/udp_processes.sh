#!/usr/bin/env bash
# Three processes, one stack each, on real UDP sockets on loopback, 20% of arriving packets
# dropped on purpose: every member must get every other member's messages exactly once, in
# order. Usage: udp_processes.sh PATH/TO/lamina
set -euo pipefail
lamina=$1
base=$((20000 + RANDOM % 40000))
peers="127.0.0.1:$base,127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2))"
pids=()
for me in 0 1 2; do
  "$lamina" node --me "$me" --peers "$peers" --drop 0.2 --messages 200 --seed "$base" --limit-s 60 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
