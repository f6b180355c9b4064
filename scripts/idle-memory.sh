#!/usr/bin/env bash
# Idle resident memory of a proxy binary in front of a stdio MCP server, and a budget for it.
#
#   scripts/idle-memory.sh MCPO SERVER [BUDGET_KIB]
#
# Starts MCPO on a free 127.0.0.1 port in front of SERVER (`MCPO -- SERVER`), waits until /readyz answers 200, lets
# it settle (its resident set is sampled every 200 ms until two samples a second apart agree, at most 10 s), prints
# `idle_rss_kib=<VmRSS>` and stops it. With BUDGET_KIB, exits 1 when the idle resident set is above it.
# CI runs it on the release binary (scripts/build-release.sh) with the budget of docs/benchmarks.md.
set -euo pipefail

MCPO="$1"
SERVER="$2"
BUDGET="${3:-}"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
LOG="$(mktemp "${TMPDIR:-/tmp}/idle-memory.XXXXXX")"

"$MCPO" --host 127.0.0.1 --port "$PORT" --log-level warning -- "$SERVER" > "$LOG" 2>&1 &
PID=$!
cleanup() {
  kill "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  rm -f "$LOG"
}
trap cleanup EXIT

ready=0
for _ in $(seq 600); do
  if curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz"; then ready=1; break; fi
  kill -0 "$PID" 2>/dev/null || { cat "$LOG" >&2; echo "idle-memory: $MCPO exited before it was ready" >&2; exit 1; }
  sleep 0.1
done
(( ready )) || { cat "$LOG" >&2; echo "idle-memory: $MCPO was not ready within 60 s" >&2; exit 1; }

rss() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$PID/status"; }
previous="$(rss)"
current="$previous"
for _ in $(seq 10); do
  sleep 1
  current="$(rss)"
  [[ "$current" == "$previous" ]] && break
  previous="$current"
done
echo "idle_rss_kib=$current"
if [[ -n "$BUDGET" ]] && (( current > BUDGET )); then
  echo "idle-memory: $current KiB resident at idle is over the budget of $BUDGET KiB" >&2
  exit 1
fi
