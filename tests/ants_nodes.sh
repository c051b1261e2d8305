#!/usr/bin/env bash
# Five `lamina ants node` processes on loopback, a line 0 - 1 - 2 - 3 - 4 whose nodes 1 and 3 are
# passive: node 0 sends 50 capsules of unicast.lua to node 4. The code goes to node 2 from node
# 0 and to node 4 from node 2, across the passive nodes, over UDP; node 4 gets every capsule.
# Usage: ants_nodes.sh PATH/TO/lamina
set -euo pipefail
lamina=$1
base=$((20000 + RANDOM % 40000))
dir=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"' EXIT
printf 'nodes 5\nlink 0 1\nlink 1 2\nlink 2 3\nlink 3 4\npassive 1 3\n' >"$dir/line"
node() { exec "$lamina" ants node --topology "$dir/line" --port-base "$base" "$@"; }
for me in 1 2 3; do
  node --me $me --for-s 20 >"$dir/$me" &
  pids+=($!)
done
node --me 4 --expect 50 --for-s 20 >"$dir/4" &
receiver=$!
node --me 0 --app unicast --send 'unicast:4:h:payload' --repeat 50 --interval-ms 2 \
  --start-ms 300 --for-s 3 >"$dir/0" &
sender=$!
status=0
wait $receiver || status=$?
wait $sender || true
kill -TERM "${pids[@]}"
for p in "${pids[@]}"; do wait "$p" || true; done
grep -h '^result' "$dir"/0 "$dir"/1 "$dir"/2 "$dir"/3 "$dir"/4
[ $status = 0 ] || { echo "FAILED: node 4 got $(grep -c '^delivered' "$dir/4") of 50"; exit 1; }
grep -q '^result.* loaded=1' "$dir/2" || { echo "FAILED: node 2 did not load the code once"; exit 1; }
grep -q '^result.* loaded=1' "$dir/4" || { echo "FAILED: node 4 did not load the code once"; exit 1; }
echo "ok: 50 of 50 delivered; the code loaded once each at nodes 2 and 4, over passive nodes"
