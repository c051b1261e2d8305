#!/usr/bin/env bash
# Runs one lamina-opt test file as LLVM's lit runs a shell test: every `RUN:` line of the file,
# in order, each under `bash -o pipefail`; the test fails at the first command that fails.
# A RUN line ending in `\` goes on in the next RUN line.
#
#   run.sh --lamina-opt PATH --filecheck PATH [--xml-wellformed PATH] --src DIR --out DIR TEST_FILE
#
# Substitutions in RUN lines:
#   %lamina-opt  the optimiser            %FileCheck  LLVM's FileCheck
#   %xml-wellformed  tests/xml_wellformed: exit 0 when each file is a well-formed SVG document
#   %src         the repository's root    %s, %S      the test file, its directory
#   %t           a scratch path of this test's own, under --out (use %t.hpp, %t.out, ...)
#   %%           a literal %
# A RUN line that expects a failure says which: `%lamina-opt ... 2> %t.err; test $? -eq 1`.
#
# Why not lit itself: CTest runs each test file as its own test (optimizer.<stem>), so all that
# is needed is the RUN lines of one file; lit would bring Python and a lit.cfg for that.
set -euo pipefail

usage() {
  echo "usage: run.sh --lamina-opt PATH --filecheck PATH [--xml-wellformed PATH] --src DIR" \
    "--out DIR TEST_FILE" >&2
  exit 2
}

opt="" filecheck="" xml="" src="" out="" test=""
while (($#)); do
  case "$1" in
    --lamina-opt) opt="$2"; shift 2 ;;
    --filecheck) filecheck="$2"; shift 2 ;;
    --xml-wellformed) xml="$2"; shift 2 ;;
    --src) src="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -*) usage ;;
    *) [[ -z "$test" ]] || usage; test="$1"; shift ;;
  esac
done
[[ -n "$opt" && -n "$filecheck" && -n "$src" && -n "$out" && -n "$test" ]] || usage
[[ -f "$test" ]] || { echo "run.sh: error: no test file $test" >&2; exit 2; }

# Absolute paths: the RUN lines run in the output directory.
absolute() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
test="$(absolute "$test")"
src="$(cd "$src" && pwd)"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
[[ "$opt" != */* ]] || opt="$(absolute "$opt")"
[[ "$filecheck" != */* ]] || filecheck="$(absolute "$filecheck")"
[[ "$xml" != */* ]] || xml="$(absolute "$xml")"
dir="$(dirname "$test")"
stem="$(basename "$test")"
stem="${stem%.*}"
scratch="$out/$stem.tmp"
rm -rf "$scratch" "$scratch".*

# The RUN lines, continuations joined; each remembers the line it starts on.
commands=()
lines=()
pending=""
pending_line=0
number=0
while IFS= read -r text || [[ -n "$text" ]]; do
  number=$((number + 1))
  [[ "$text" == *RUN:* ]] || continue
  command="${text#*RUN:}"
  if [[ -z "$pending" ]]; then pending_line=$number; fi
  if [[ "$command" =~ ^(.*)\\[[:space:]]*$ ]]; then
    pending+="${BASH_REMATCH[1]} "
    continue
  fi
  commands+=("$pending$command")
  lines+=("$pending_line")
  pending=""
done <"$test"
if [[ -n "$pending" ]]; then
  echo "$test:$pending_line: error: the RUN line ends in \\ with no RUN line after it" >&2
  exit 1
fi
if ((${#commands[@]} == 0)); then
  echo "$test: error: no RUN lines" >&2
  exit 1
fi

# Longest names first, so that %s does not eat the start of %src. A quoted replacement is taken
# literally (bash 5.2 would otherwise read & in it as the match).
substitute() {
  local c="$1"
  c="${c//%%/$'\x01'}"
  c="${c//%lamina-opt/"$opt"}"
  c="${c//%FileCheck/"$filecheck"}"
  c="${c//%xml-wellformed/"${xml:-xml-wellformed-not-given}"}"
  c="${c//%src/"$src"}"
  c="${c//%s/"$test"}"
  c="${c//%S/"$dir"}"
  c="${c//%t/"$scratch"}"
  c="${c//$'\x01'/%}"
  printf '%s' "$c"
}

for i in "${!commands[@]}"; do
  command="$(substitute "${commands[$i]}")"
  echo "RUN (line ${lines[$i]}): $command"
  status=0
  (cd "$out" && bash -o pipefail -c "$command") || status=$?
  if ((status != 0)); then
    echo "FAIL: $test:${lines[$i]}: exit status $status" >&2
    exit 1
  fi
done
echo "PASS: $test (${#commands[@]} RUN lines)"
