#!/usr/bin/env bash
# Writes the link order of the release build: OUT/mcpo.order, the functions the proxy runs in the order valgrind
# first meets them, and OUT/mcpo-unnamed.ld, the same for functions without a symbol, for scripts/build-release.sh
# to place side by side (docs/benchmarks.md, "Release builds"). build-release.sh runs it whenever the sources
# changed; functions it does not list are still linked, only placed after the listed ones.
#
#   scripts/make-link-order.sh [--scratch-path DIR] [--out OUT]   (defaults .build-release, DIR/link-order;
#                                                                  needs valgrind; a few minutes after the build)
#
# It builds without an ordering in DIR, then runs the proxy under callgrind through what a proxy does: start in
# front of a stdio server and, in config mode, a stdio and a streamable HTTP server; serve the documents, the docs
# page and the health routes; answer tool calls, a bad body, an unknown route; stop.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
command -v valgrind >/dev/null || { echo "make-link-order: valgrind is needed (apt-get install valgrind)" >&2; exit 1; }

SCRATCH=".build-release"
OUT=""
while (( $# )); do
  case "$1" in
    --scratch-path) SCRATCH="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "make-link-order: unknown argument $1" >&2; exit 2 ;;
  esac
done
OUT="${OUT:-$SCRATCH/link-order}"
mkdir -p "$OUT"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/mcpo-order.XXXXXX")"
BIN="$(scripts/build-release.sh --scratch-path "$SCRATCH" --no-order --keep-symbols --map "$WORK" \
  mcpo mcp-bench-server | tail -n 1)"
STUB_PID=""
cleanup() {
  [[ -n "$STUB_PID" ]] && kill "$STUB_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# valgrind 3.19 cannot read the DWARF 5 debug information of Swift 6.3 binaries: profile a copy without it
# (the symbol table stays).
cp "$BIN/mcpo" "$WORK/mcpo"
strip --strip-debug "$WORK/mcpo"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_ready() {
  for _ in $(seq 600); do
    curl -sf -o /dev/null "http://127.0.0.1:$1$2" && return 0
    sleep 0.1
  done
  echo "make-link-order: the proxy did not start on port $1" >&2
  exit 1
}

# profile NAME PORT PREFIX ARGS...: runs the proxy under callgrind and exercises it in three phases, each dumped on
# its own: start (until the first document is served), calls (the hot path: tool calls), other (documents, pages,
# errors, stop).
profile() {
  local name="$1" port="$2" prefix="$3"
  shift 3
  valgrind --tool=callgrind --demangle=no --dump-instr=yes --callgrind-out-file="$WORK/$name.out" \
    "$WORK/mcpo" --host 127.0.0.1 --port "$port" "$@" > "$WORK/$name.log" 2>&1 &
  local pid=$!
  wait_ready "$port" /openapi.json
  local url="http://127.0.0.1:$port"
  callgrind_control --dump=start "$pid" > /dev/null
  for _ in $(seq 20); do
    curl -s -o /dev/null -X POST -H 'content-type: application/json' -d '{"text":"hello"}' "$url$prefix/echo"
  done
  callgrind_control --dump=calls "$pid" > /dev/null
  for path in /openapi.json /docs /redoc /healthz /readyz "$prefix/openapi.json" "$prefix/docs"; do
    curl -s -o /dev/null "$url$path"
  done
  curl -s -o /dev/null -X POST -H 'content-type: application/json' -d '{"text":1}' "$url$prefix/echo"
  curl -s -o /dev/null -X POST -H 'content-type: application/json' -d 'not json' "$url$prefix/echo"
  curl -s -o /dev/null "$url/nothing-here"
  kill -INT "$pid"
  wait "$pid" || true
}

profile single "$(free_port)" "" -- "$BIN/mcp-bench-server"

HTTP_PORT="$(free_port)"
"$BIN/mcp-bench-server" --http "$HTTP_PORT" > "$WORK/stub.log" 2>&1 &
STUB_PID=$!
cat > "$WORK/config.json" <<JSON
{"mcpServers": {
  "local": {"command": "$BIN/mcp-bench-server"},
  "remote": {"type": "streamable-http", "url": "http://127.0.0.1:$HTTP_PORT/mcp"}
}}
JSON
PORT="$(free_port)"
profile config "$PORT" /local --config "$WORK/config.json"
PORT="$(free_port)"
profile remote "$PORT" "" --server-type streamable-http -- "http://127.0.0.1:$HTTP_PORT/mcp"

# The calls first, then the rest of what a start runs, then everything else: the pages of the calls lie together.
python3 scripts/link-order.py "$WORK/mcpo.map" "$WORK/mcpo" "$OUT/mcpo.order" "$OUT/mcpo-unnamed.ld" \
  "$WORK/single.out" "$WORK/config.out" "$WORK/remote.out"
