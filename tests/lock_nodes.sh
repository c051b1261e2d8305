#!/usr/bin/env bash
# Three `lamina lock node` processes on loopback, one algorithm: every member makes its acquires,
# each granted, and the lock layers' messages summed over the members are exactly 3(n-1) (Lamport)
# or 2(n-1) (Ricart and Agrawala) an entry. The members linger, answering each other, until all
# have printed their tallies; then SIGTERM stops them and they print their final counters.
# With a fifth argument `try`, the members use try_acquire (--try): every try is granted or
# taken, none fails, and the messages are at least 3(n-1) or 2(n-1) a grant (a try taken costs
# none, or as much as an entry).
# Usage: lock_nodes.sh PATH/TO/lamina ALGORITHM IMPL WAIT [try]
set -euo pipefail
lamina=$1
algorithm=$2
impl=$3
wait=$4
mode=${5:-acquire}
try_flag=()
[ "$mode" = try ] && try_flag=(--try)
entries=50
base=$((20000 + RANDOM % 40000))
peers="127.0.0.1:$base,127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2))"
dir=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"' EXIT
for me in 0 1 2; do
  "$lamina" lock node --me "$me" --peers "$peers" --algorithm "$algorithm" --impl "$impl" \
    --wait "$wait" --entries $entries --hold-us 20 --patience-ms 5000 --linger-s 30 \
    --limit-s 30 "${try_flag[@]}" >"$dir/$me" &
  pids+=($!)
done
for _ in $(seq 300); do
  [ "$(cat "$dir"/0 "$dir"/1 "$dir"/2 | grep -c '^tally: ')" = 3 ] && break
  sleep 0.05
done
kill -TERM "${pids[@]}"
status=0
for p in "${pids[@]}"; do wait "$p" || status=$?; done
cat "$dir"/0 "$dir"/1 "$dir"/2 | grep -v '^grant \|^try '
[ $status = 0 ] || { echo "FAILED: a member exited with $status"; exit 1; }
per=$([ "$algorithm" = lamport ] && echo 6 || echo 4)
cat "$dir"/0 "$dir"/1 "$dir"/2 | awk -v entries=$entries -v per=$per -v mode=$mode '
  /^result / {
    for (i = 2; i <= NF; ++i) { split($i, kv, "="); f[kv[1]] = kv[2] }
    if (f["grants"] + f["taken"] != entries || (mode != "try" && f["taken"] != 0) ||
        f["failed"] != 0 || f["refused"] != 0) {
      print "FAILED: member " f["me"] ": " $0; bad = 1
    }
    sent += f["sent"]; grants += f["grants"]; taken += f["taken"]; members++
  }
  END {
    if (members != 3) { print "FAILED: " members " result lines"; exit 1 }
    if (mode == "try") {
      if (grants == 0 || sent < per * grants) {
        print "FAILED: " sent " messages for " grants " grants"; exit 1
      }
      printf "ok: %d grants, %d tries taken, %d lock messages\n", grants, taken, sent
      exit bad
    }
    if (sent != per * grants) { print "FAILED: " sent " messages for " grants " grants"; exit 1 }
    printf "ok: %d grants, %d lock messages, %d an entry\n", grants, sent, sent / grants
    exit bad
  }'
