#!/usr/bin/env bash
# `lamina rpc serve` in one process and `lamina rpc call` in others, on loopback: each call
# prints its result; calls one after the other from the same member each get a new incarnation
# (a put after a put of the same key is answered "replaced", never from the first call's kept
# answer); the server, stopped by SIGTERM, reports one handler run per call.
# Usage: rpc_serve_call.sh PATH/TO/lamina IMPL
set -euo pipefail
lamina=$1
impl=$2
base=$((20000 + RANDOM % 40000))
peers="127.0.0.1:$base,127.0.0.1:$((base + 1))"
out=$(mktemp)
trap 'kill "$server" 2>/dev/null || true; rm -f "$out"' EXIT
"$lamina" rpc serve --peers "$peers" --impl "$impl" --for-s 60 >"$out" &
server=$!
for _ in $(seq 100); do grep -q "lamina rpc serve:" "$out" && break; sleep 0.05; done

call() { "$lamina" rpc call --peers "$peers" --me 1 --impl "$impl" "$@"; }
expect() { # expect TEXT COMMAND...: the command's output holds TEXT
  local text=$1 got
  shift
  got=$("$@") || { echo "FAILED (exit $?): $*: $got"; exit 1; }
  grep -qF -- "$text" <<<"$got" || { echo "FAILED: $*: expected '$text' in: $got"; exit 1; }
  echo "$got"
}
expect 'put k v: a new key' call put k v
expect 'put k w: replaced a value' call put k w
expect 'get k: "w"' call get k
expect 'echo hello: "hello"' call echo hello --wait spin
expect '50 calls, 0 failed' call echo x --count 50
expect 'delete k: deleted' call delete k
expect 'get k: not found' call get k
if call nosuch 2>/dev/null; then echo "FAILED: an unknown method was taken"; exit 1; fi
if call put k 2>/dev/null; then echo "FAILED: put with one argument was taken"; exit 1; fi

kill -TERM "$server"
wait "$server"
cat "$out"
grep -qF "handlers ran 56 times (delete 1, echo 51, get 2, put 2)" "$out" ||
  { echo "FAILED: the server did not run each call once"; exit 1; }
