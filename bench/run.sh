#!/usr/bin/env bash
# Benchmark: swift-mcpo (and mcpo 0.0.20 side by side) in front of our stub MCP server
# (Sources/mcp-bench-server), over stdio and streamable HTTP, driven by wrk on POST /echo.
#
#   bench/run.sh                      everything (about 2.5 minutes with the defaults)
#   BENCH_MCPO=0 bench/run.sh         swift-mcpo only
#
# Environment (all optional):
#   BENCH_DURATION=5                  seconds of each measured wrk run
#   BENCH_WARMUP=1                    seconds of the unmeasured wrk run before it (0: none)
#   BENCH_REPEAT=1                    rounds of everything; the ratios take each case's best round
#   BENCH_CONCURRENCY="1 8 64"        wrk connections
#   BENCH_TRANSPORTS="stdio streamable-http"
#   BENCH_MCPO=1                      also run mcpo 0.0.20 (set up in bench/.venv-mcpo)
#   BENCH_BUILD=1                     0: use the release binaries already in $BENCH_SCRATCH
#   BENCH_SCRATCH=.build-release      SwiftPM scratch path of the release build (scripts/build-release.sh)
#   BENCH_STUB_THREADS=1              event loop threads of the HTTP stub
#   BENCH_PROXY_ARGS=""               extra arguments for both proxies (e.g. "--log-level warning")
#   PYTHON=python3                    interpreter for mcpo's venv and the helper
#   BENCH_AUTH=1                      also swift-mcpo with callers at the highest concurrency: an API key
#                                     ("swift-mcpo-key") and JWTs from the identity provider fixture, a few tokens
#                                     reused ("swift-mcpo-jwt"); the fixture runs in bench/.venv-idp
#   BENCH_GOVERNANCE=1                also swift-mcpo in config mode at the highest concurrency, bare ("swift-mcpo-bare":
#                                     --no-metrics) and governed ("swift-mcpo-governed": an SQLite audit log, metrics,
#                                     and a rate limit never reached)
#   BENCH_REPLICAS=1                  also, at the highest concurrency, swift-mcpo in config mode with its audit log in a
#                                     PostgreSQL of its own ("swift-mcpo-pgaudit", against "swift-mcpo-bare"), and three
#                                     such proxies behind nginx ("swift-mcpo-3-replicas": every answer's body checked);
#                                     needs Debian's postgresql and nginx (installed with apt-get when missing;
#                                     skipped with a note if that fails)
#   BENCH_MCP_ENDPOINT=1              also swift-mcpo at the highest concurrency called through its MCP endpoint
#                                     ("swift-mcpo-mcp": POST /mcp, a stateless 2026-07-28 tools/call of echo)
#   BENCH_INTERLEAVE=8                at the highest concurrency, the bare proxy side by side with the one with its audit
#                                     log in PostgreSQL (BENCH_REPLICAS) and the governed one (BENCH_GOVERNANCE), wrk
#                                     alternating between the two in this many pairs of slices (order A B, B A, A B, …),
#                                     once after the rounds; the ratio of their requests over the same minutes is what
#                                     the 0.8 targets are judged on (0: not measured; then the best rounds are)
#   BENCH_SLICE=2                     seconds of each slice of the interleaved comparisons
#   BENCH_BASELINE=""                 a second swift-mcpo binary (an earlier commit's release build) measured in
#                                     the same rounds as "swift-mcpo-base", for before/after ratios of one run
#
# Each (transport, proxy, concurrency) gets a fresh proxy on a free 127.0.0.1 port. Figures:
#   ready     ms from spawning the proxy to its first 200 on /openapi.json (bench/launch.py)
#   idle RSS  VmRSS of the proxy process 1 s after ready, before any call (and RssAnon: without mapped files)
#   req/s, p50, p99   from wrk -t1 -c<C> -d<D>s (latencies from wrk's done hook, bench/echo.lua)
#   CPU/req   utime+stime of the proxy process over the measured run / requests
#   peak RSS  VmHWM of the proxy process after the run
#   stub CPU  the stub's CPU over the measured run, % of one core (to show it is not the bottleneck)
# A baseline run of wrk straight at the HTTP stub (POST /mcp tools/call) gives the latency the proxy adds.
# Prints a table and the ratios, and writes them as markdown to bench-results/latest.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DURATION="${BENCH_DURATION:-5}"
WARMUP="${BENCH_WARMUP:-1}"
REPEAT="${BENCH_REPEAT:-1}"
CONCURRENCY="${BENCH_CONCURRENCY:-1 8 64}"
TRANSPORTS="${BENCH_TRANSPORTS:-stdio streamable-http}"
WITH_MCPO="${BENCH_MCPO:-1}"
BUILD="${BENCH_BUILD:-1}"
SCRATCH="${BENCH_SCRATCH:-.build-release}"
STUB_THREADS="${BENCH_STUB_THREADS:-1}"
read -r -a PROXY_ARGS <<< "${BENCH_PROXY_ARGS:-}"
PYTHON="${PYTHON:-python3}"
BASELINE_MCPO="${BENCH_BASELINE:-}"
WITH_AUTH="${BENCH_AUTH:-1}"
WITH_GOVERNANCE="${BENCH_GOVERNANCE:-1}"
WITH_MCP_ENDPOINT="${BENCH_MCP_ENDPOINT:-1}"
WITH_REPLICAS="${BENCH_REPLICAS:-1}"
INTERLEAVE="${BENCH_INTERLEAVE:-8}"
SLICE="${BENCH_SLICE:-2}"
JWT_TOKENS=4

SWIFT_MCPO="$ROOT/$SCRATCH/shipped/mcpo"
STUB="$ROOT/$SCRATCH/shipped/mcp-bench-server"
VENV="$ROOT/bench/.venv-mcpo"
PY_MCPO="$VENV/bin/mcpo"
LAUNCH="$ROOT/bench/launch.py"
LUA="$ROOT/bench/echo.lua"
RESULTS_DIR="$ROOT/bench-results"
# mcpo 0.0.20 with the versions of its uv.lock for the packages that matter.
# The identity provider fixture's packages, as pinned in scripts/python-requirements-mcp1.txt.
IDP_PINS=(cryptography==51.0.1 PyJWT==2.15.1)
IDP_VENV="$ROOT/bench/.venv-idp"
IDP_FIXTURE="$ROOT/Tests/Fixtures/python/idp/idp_fixture.py"
MCPO_PINS=(mcpo==0.0.20 mcp==1.17.0 fastapi==0.116.1 starlette==0.47.2 pydantic==2.11.7 uvicorn==0.35.0)
ECHO_BODY='{"text":"hello"}'
STUB_CALL='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}'
STUB_ACCEPT='application/json, text/event-stream'  # what streamable HTTP requires of clients
MCP_CALL='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}'
STUB_INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}'

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/mcpo-bench.XXXXXX")"
PIDS=()          # every process we started that may outlive its command (session leaders)
KEEP_WORK=0

# The pids of the children of $1 (its stdio MCP server, for one), one per line.
children_of() {
  local file kids
  for file in /proc/"$1"/task/*/children; do
    [[ -r "$file" ]] || continue
    read -r -a kids < "$file" || true
    (( ${#kids[@]} )) && printf '%s\n' "${kids[@]}"
  done
  return 0
}

alive() {
  local state
  [[ -r /proc/$1/stat ]] || return 1
  state="$(< "/proc/$1/stat")"
  state="${state##*) }"
  [[ "${state:0:1}" != Z ]]
}

# stop <pid>: SIGTERM to the process (and its group), SIGKILL after 5 s; its children too.
stop() {
  local pid="$1" kids child waited=0
  alive "$pid" || return 0
  kids="$(children_of "$pid")"
  kill -TERM "$pid" 2>/dev/null || true
  while alive "$pid" && (( waited < 50 )); do sleep 0.1; waited=$((waited + 1)); done
  kill -KILL -- "-$pid" 2>/dev/null || true
  kill -KILL "$pid" 2>/dev/null || true
  for child in $kids; do kill -KILL "$child" 2>/dev/null || true; done
}

cleanup() {
  local pid file
  # A signal during a launch runs this before the pid is in PIDS; the launcher wrote it to a file first.
  for file in "$WORK"/*.pid; do
    [[ -r "$file" ]] && PIDS+=("$(< "$file")")
  done
  for pid in "${PIDS[@]}"; do stop "$pid"; done
  [[ -n "${PG_DIR:-}" ]] && rm -rf "$PG_DIR"
  if (( KEEP_WORK )); then log "logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# CPU ticks (utime + stime) of a process.
cpu_ticks() {
  local stat fields
  stat="$(< "/proc/$1/stat")"
  read -r -a fields <<< "${stat##*) }"
  echo $(( fields[11] + fields[12] ))
}

# status_kb <pid> <field>: VmRSS or VmHWM in kB.
status_kb() {
  awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status"
}

# ---------------------------------------------------------------------------------------------------
# Setup

command -v "$PYTHON" >/dev/null || die "$PYTHON not found"
if ! command -v wrk >/dev/null; then
  log "installing wrk (apt)"
  if (( EUID == 0 )); then apt-get install -y wrk >/dev/null; else sudo apt-get install -y wrk >/dev/null; fi
fi

if (( BUILD )); then
  # As the Docker image ships it: scripts/build-release.sh (release, static Swift standard library and
  # Foundation, functions laid out by the link order it makes, stripped).
  log "building mcpo and mcp-bench-server (scripts/build-release.sh) in $SCRATCH"
  scripts/build-release.sh --scratch-path "$SCRATCH" mcpo mcp-bench-server > "$WORK/build.log" 2>&1 \
    || { tail -n 30 "$WORK/build.log" >&2; die "building failed"; }
fi
[[ -x "$SWIFT_MCPO" && -x "$STUB" ]] || die "release binaries missing in $SCRATCH (build failed?)"

if (( WITH_MCPO )); then
  stamp="${MCPO_PINS[*]} $("$PYTHON" -V 2>&1)"
  if [[ ! -x "$PY_MCPO" || "$(cat "$VENV/.bench-stamp" 2>/dev/null)" != "$stamp" ]]; then
    log "setting up mcpo 0.0.20 in bench/.venv-mcpo"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "${MCPO_PINS[@]}"
    "$VENV/bin/python" -m pip check >/dev/null
    printf '%s\n' "$stamp" > "$VENV/.bench-stamp"
  fi
fi

if (( WITH_AUTH )); then
  stamp="${IDP_PINS[*]} $("$PYTHON" -V 2>&1)"
  if [[ ! -x "$IDP_VENV/bin/python" || "$(cat "$IDP_VENV/.bench-stamp" 2>/dev/null)" != "$stamp" ]]; then
    log "setting up the identity provider fixture in bench/.venv-idp"
    rm -rf "$IDP_VENV"
    "$PYTHON" -m venv "$IDP_VENV"
    "$IDP_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "${IDP_PINS[@]}"
    printf '%s\n' "$stamp" > "$IDP_VENV/.bench-stamp"
  fi
fi

CLK_TCK="$(getconf CLK_TCK)"
# How busy the machine was just before (other work on it skews every figure).
busy_percent() {
  local user nice system idle iowait irq softirq steal total1 idle1 total2 idle2
  read -r _ user nice system idle iowait irq softirq steal _ < /proc/stat
  total1=$((user + nice + system + idle + iowait + irq + softirq + steal)); idle1=$((idle + iowait))
  sleep 2
  read -r _ user nice system idle iowait irq softirq steal _ < /proc/stat
  total2=$((user + nice + system + idle + iowait + irq + softirq + steal)); idle2=$((idle + iowait))
  echo $(( 100 - (idle2 - idle1) * 100 / (total2 - total1 > 0 ? total2 - total1 : 1) ))
}
BUSY_START="$(busy_percent)"
LOAD_START="$(cut -d' ' -f1 /proc/loadavg)"
if (( BUSY_START > 10 )); then
  log "warning: the machine was ${BUSY_START}% busy before the run: other work on it will skew the figures"
fi
RESULTS="$WORK/results.tsv"
: > "$RESULTS"

# run_wrk <url> <connections> <seconds> <body> <out-file> [accept] [authorizations separated by |]
run_wrk() {
  BENCH_WRK_BODY="$4" BENCH_WRK_ACCEPT="${6:-*/*}" BENCH_WRK_AUTH="${7:-}" \
    wrk -t1 -c"$2" -d"$3"s --timeout 10s -s "$LUA" "$1" > "$5" 2>&1 || true
}

# wrk_field <out-file> <name>: one figure of the BENCH line.
wrk_field() {
  sed -n 's/^BENCH .*/&/p' "$1" | tr ' ' '\n' | awk -F= -v key="$2" '$1 == key { print $2 }'
}

wrk_errors() {
  local out="$1" total=0 name value
  for name in errors_connect errors_read errors_write errors_status errors_timeout; do
    value="$(wrk_field "$out" "$name")"
    total=$(( total + ${value:-0} ))
  done
  echo "$total"
}

# ---------------------------------------------------------------------------------------------------
# The stub on its own: start time over stdio, an HTTP instance for the HTTP runs and the baseline.

STDIO_STUB_MS="$("$PYTHON" "$LAUNCH" stdio-start --runs 5 -- "$STUB")"
log "stub start over stdio (spawn → tools/list answered): $STDIO_STUB_MS ms"

STUB_PORT="$(free_port)"
STUB_URL="http://127.0.0.1:$STUB_PORT/mcp"
HTTP_STUB_MS="$("$PYTHON" "$LAUNCH" ready --url "$STUB_URL" --post "$STUB_INIT" --pid-file "$WORK/stub.pid" \
  --log "$WORK/stub-http.log" --timeout 30 -- "$STUB" --http "$STUB_PORT" --threads "$STUB_THREADS")" \
  || die "the HTTP stub did not start (log: $WORK/stub-http.log)"
HTTP_STUB_PID="$(< "$WORK/stub.pid")"
PIDS+=("$HTTP_STUB_PID")
log "stub start over HTTP (spawn → initialize answered): $HTTP_STUB_MS ms"

# The identity provider fixture (JWKS, tokens) for the swift-mcpo-jwt case.
if (( WITH_AUTH )); then
  "$IDP_VENV/bin/python" "$IDP_FIXTURE" --port 0 > "$WORK/idp.out" 2> "$WORK/idp.log" &
  IDP_PID=$!
  PIDS+=("$IDP_PID")
  for (( waited = 0; waited < 300; waited++ )); do
    [[ -s "$WORK/idp.out" ]] && break
    alive "$IDP_PID" || { KEEP_WORK=1; die "the identity provider fixture exited ($WORK/idp.log)"; }
    sleep 0.1
  done
  IDP_ISSUER="$("$PYTHON" -c 'import json, sys; print(json.loads(sys.stdin.readline())["issuer"])' < "$WORK/idp.out")" \
    || die "the identity provider fixture did not start ($WORK/idp.log)"
  IDP_ORIGIN="${IDP_ISSUER%/realms/*}"
  printf '{"apiKeys": [{"name": "bench", "key": "bench-key-0123456789", "scopes": ["*"]}]}\n' > "$WORK/auth-key.json"
  printf '{"jwt": [{"issuer": "%s", "audience": "mcpo"}]}\n' "$IDP_ISSUER" > "$WORK/auth-jwt.json"
  log "identity provider fixture at $IDP_ISSUER"
fi

# PostgreSQL (initdb in a folder of its own, as the postgres user when run as root) and nginx for the replica cases,
# installed from Debian's packages as wrk is when they are missing.
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
if (( WITH_REPLICAS )) && { [[ -z "$PG_BIN" ]] || [[ ! -x /usr/sbin/nginx ]]; }; then
  log "installing postgresql and nginx (apt) for the replica cases"
  if (( EUID == 0 )); then apt-get install -y postgresql nginx >/dev/null 2>&1; else sudo apt-get install -y postgresql nginx >/dev/null 2>&1; fi \
    || log "apt-get install postgresql nginx failed"
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
fi
if (( WITH_REPLICAS )) && { [[ -z "$PG_BIN" ]] || [[ ! -x /usr/sbin/nginx ]]; }; then
  log "PostgreSQL or nginx missing (apt-get install postgresql nginx): no replica cases"
  WITH_REPLICAS=0
fi
as_postgres() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if (( WITH_REPLICAS )); then
  PG_DIR="$(mktemp -d /tmp/mcpo-bench-pg.XXXXXX)"
  [[ "$(id -u)" == 0 ]] && chown postgres "$PG_DIR"
  PG_PORT="$(free_port)"
  as_postgres "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 > "$WORK/initdb.log" 2>&1 \
    || { KEEP_WORK=1; die "initdb failed ($WORK/initdb.log)"; }
  as_postgres "$PG_BIN/postgres" -D "$PG_DIR/data" -p "$PG_PORT" -c listen_addresses=127.0.0.1 \
    -c unix_socket_directories="$PG_DIR" -c max_connections=100 > "$WORK/postgres.log" 2>&1 &
  PG_PID=$!
  PIDS+=("$PG_PID")
  for _ in $(seq 1 600); do
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres && break
    alive "$PG_PID" || { KEEP_WORK=1; die "postgres exited ($WORK/postgres.log)"; }
    sleep 0.1
  done
  PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
  log "PostgreSQL at 127.0.0.1:$PG_PORT (fsync on, its defaults)"
fi

# postgres_ticks: utime+stime of every process of the bench's PostgreSQL (the postmaster and its backends).
postgres_ticks() {
  local total=0 proc
  for proc in /proc/[0-9]*; do
    [[ "$(tr '\0' ' ' < "$proc/cmdline" 2>/dev/null)" == *"$PG_DIR"* ]] || [[ "$(cat "$proc/comm" 2>/dev/null)" == postgres ]] || continue
    total=$(( total + $(awk '{ print $14 + $15 }' "$proc/stat" 2>/dev/null || echo 0) ))
  done
  echo "$total"
}

# governed_config <transport> <impl>: the config file of the bare and the governed proxy (the stub as "stub").
governed_config() {
  local server
  if [[ "$1" == stdio ]]; then
    server="{\"command\": \"$STUB\""
  else
    server="{\"type\": \"streamable-http\", \"url\": \"$STUB_URL\""
  fi
  if [[ "$2" == swift-mcpo-governed ]]; then
    printf '{"audit": {"store": "sqlite://%s/audit-%s.db"}, "mcpServers": {"stub": %s, "rateLimit": {"perCaller": "1000000000/second"}}}}\n' \
      "$WORK" "$1-$RANDOM" "$server"
  elif [[ "$2" == swift-mcpo-pgaudit ]]; then
    printf '{"store": "%s", "audit": {}, "mcpServers": {"stub": %s}}}\n' "$PG_URL" "$server"
  else
    printf '{"mcpServers": {"stub": %s}}}\n' "$server"
  fi
}

# governed_args <transport> <impl> <name>: writes the case's config file as $WORK/<name>.json and sets GOVERNED_ARGS
# to the proxy's arguments for it (metrics off but in the governed case, whose target includes them).
governed_args() {
  governed_config "$1" "$2" > "$WORK/$3.json"
  GOVERNED_ARGS=(--config "$WORK/$3.json")
  if [[ "$2" != swift-mcpo-governed ]]; then GOVERNED_ARGS+=(--no-metrics); fi
}

# A few tokens, as a few real clients reuse theirs: "Bearer t1|Bearer t2|…".
jwt_authorizations() {
  local i token list=""
  for (( i = 1; i <= JWT_TOKENS; i++ )); do
    token="$(curl -sS -m 10 -X POST -H 'Content-Type: application/json' \
      -d "{\"alg\": \"RS256\", \"claims\": {\"sub\": \"client-$i\", \"exp\": $(( $(date +%s) + 3600 ))}}" \
      "$IDP_ORIGIN/_admin/token" | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["token"])')"
    list+="${list:+|}Bearer $token"
  done
  printf '%s' "$list"
}

stub_baseline() {
  local c out requests
  for c in $CONCURRENCY; do
    out="$WORK/wrk-stub-c$c.txt"
    if (( WARMUP > 0 )); then run_wrk "$STUB_URL" "$c" "$WARMUP" "$STUB_CALL" /dev/null "$STUB_ACCEPT"; fi
    run_wrk "$STUB_URL" "$c" "$DURATION" "$STUB_CALL" "$out" "$STUB_ACCEPT"
    requests="$(wrk_field "$out" requests)"
    [[ -n "$requests" ]] || { KEEP_WORK=1; die "wrk failed against the stub: $(cat "$out")"; }
    printf 'stub-direct\thttp\t%s\t%s\t%s\t%s\t%s\t-\t-\t-\t-\t%s\t-\t-\n' "$c" "$requests" \
      "$(wrk_field "$out" duration_us)" "$(wrk_field "$out" p50_us)" "$(wrk_field "$out" p99_us)" \
      "$(wrk_errors "$out")" >> "$RESULTS"
    log "stub direct, c=$c: $requests requests"
  done
}

# ---------------------------------------------------------------------------------------------------
# The proxies.

# run_case <transport> <impl> <connections>
run_case() {
  local transport="$1" impl="$2" c="$3" binary port url pid ready_ms idle_kb peak_kb out stub_pid
  local cpu0 cpu1 stub0 stub1 requests answer idle_anon_kb auth_args=() authorizations="" mount=""
  local path="/echo" body="$ECHO_BODY" accept=""
  case "$impl" in
    swift-mcpo) binary="$SWIFT_MCPO" ;;
    swift-mcpo-mcp) binary="$SWIFT_MCPO"; path="/mcp"; body="$MCP_CALL"; accept="$STUB_ACCEPT" ;;
    swift-mcpo-key)
      binary="$SWIFT_MCPO"; auth_args=(--auth-config "$WORK/auth-key.json")
      authorizations="Bearer bench-key-0123456789" ;;
    swift-mcpo-jwt)
      binary="$SWIFT_MCPO"; auth_args=(--auth-config "$WORK/auth-jwt.json")
      authorizations="$(jwt_authorizations)" ;;
    swift-mcpo-bare|swift-mcpo-governed|swift-mcpo-pgaudit)
      binary="$SWIFT_MCPO"; mount="/stub"
      governed_args "$transport" "$impl" "$impl-$transport"
      auth_args=("${GOVERNED_ARGS[@]}") ;;
    swift-mcpo-base) binary="$BASELINE_MCPO" ;;
    mcpo) binary="$PY_MCPO" ;;
  esac
  port="$(free_port)"
  url="http://127.0.0.1:$port"
  local command=("$binary" --host 127.0.0.1 --port "$port" "${auth_args[@]}" "${PROXY_ARGS[@]}")
  if [[ -n "$mount" ]]; then
    :  # config mode: the server is in the config file
  elif [[ "$transport" == stdio ]]; then
    command+=(-- "$STUB")
  else
    command+=(--server-type streamable-http -- "$STUB_URL")
  fi
  local tag="$transport-$impl-c$c"
  ready_ms="$("$PYTHON" "$LAUNCH" ready --url "$url$mount/openapi.json" --pid-file "$WORK/$tag.pid" \
    --log "$WORK/$tag.log" --timeout 60 -- "${command[@]}")" || { KEEP_WORK=1; die "$impl did not start ($WORK/$tag.log)"; }
  pid="$(< "$WORK/$tag.pid")"
  PIDS+=("$pid")
  if [[ "$transport" == stdio ]]; then
    stub_pid="$(children_of "$pid" | head -n1)"
  else
    stub_pid="$HTTP_STUB_PID"
  fi
  sleep 1
  idle_kb="$(status_kb "$pid" VmRSS)"
  idle_anon_kb="$(status_kb "$pid" RssAnon)"

  answer="$(curl -sS -m 10 -X POST -H 'Content-Type: application/json' ${authorizations:+-H "Authorization: ${authorizations%%|*}"} \
    -d "$body" "$url$mount$path" || true)"
  [[ "$answer" == *hello* ]] || { KEEP_WORK=1; die "$impl: POST $path answered '$answer' ($WORK/$tag.log)"; }

  if (( WARMUP > 0 )); then run_wrk "$url$mount$path" "$c" "$WARMUP" "$body" /dev/null "$accept" "$authorizations"; fi
  out="$WORK/wrk-$tag.txt"
  cpu0="$(cpu_ticks "$pid")"
  stub0="$( [[ -n "$stub_pid" ]] && cpu_ticks "$stub_pid" || echo 0)"
  local pg0=0 pg1=0
  [[ "$impl" == swift-mcpo-pgaudit ]] && pg0="$(postgres_ticks)"
  run_wrk "$url$mount$path" "$c" "$DURATION" "$body" "$out" "$accept" "$authorizations"
  cpu1="$(cpu_ticks "$pid")"
  stub1="$( [[ -n "$stub_pid" ]] && cpu_ticks "$stub_pid" || echo 0)"
  if [[ "$impl" == swift-mcpo-pgaudit ]]; then
    pg1="$(postgres_ticks)"
    printf '%s\t%s\t%s\n' "$transport" "$(wrk_field "$out" requests)" "$((pg1 - pg0))" >> "$WORK/postgres-cpu.tsv"
  fi
  peak_kb="$(status_kb "$pid" VmHWM)"
  stop "$pid"

  requests="$(wrk_field "$out" requests)"
  [[ -n "$requests" ]] || { KEEP_WORK=1; die "wrk failed against $impl: $(cat "$out")"; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$impl" "$transport" "$c" "$requests" \
    "$(wrk_field "$out" duration_us)" "$(wrk_field "$out" p50_us)" "$(wrk_field "$out" p99_us)" \
    "$((cpu1 - cpu0))" "$idle_kb" "$peak_kb" "$ready_ms" "$(wrk_errors "$out")" "$((stub1 - stub0))" \
    "$idle_anon_kb" >> "$RESULTS"
  log "$impl over $transport, c=$c: $requests requests, ready in $ready_ms ms"
}

# run_replicas <transport> <connections>: three proxies sharing the PostgreSQL audit log behind nginx (round robin,
# keep-alive to the replicas), wrk through nginx with every answer's body checked.
run_replicas() {
  local transport="$1" c="$2" ports=() pids=() i port pid nginx_port nginx_dir expected out requests tag
  tag="$transport-replicas-c$c"
  governed_args "$transport" swift-mcpo-pgaudit "$tag"
  for i in 1 2 3; do
    port="$(free_port)"
    "$PYTHON" "$LAUNCH" ready --url "http://127.0.0.1:$port/stub/openapi.json" --pid-file "$WORK/$tag-$i.pid" \
      --log "$WORK/$tag-$i.log" --timeout 60 -- env MCPO_REPLICA="r$i" "$SWIFT_MCPO" --host 127.0.0.1 --port "$port" \
      "${GOVERNED_ARGS[@]}" "${PROXY_ARGS[@]}" > /dev/null \
      || { KEEP_WORK=1; die "replica $i did not start ($WORK/$tag-$i.log)"; }
    pid="$(< "$WORK/$tag-$i.pid")"
    PIDS+=("$pid"); pids+=("$pid"); ports+=("$port")
  done
  nginx_dir="$WORK/nginx-$tag"; mkdir -p "$nginx_dir/logs"
  nginx_port="$(free_port)"
  {
    [[ "$(id -u)" == 0 ]] && echo "user root;"
    echo "worker_processes 1; daemon off; error_log $nginx_dir/logs/error.log warn; pid $nginx_dir/nginx.pid;"
    echo "events { worker_connections 4096; }"
    echo "http { access_log off; client_body_temp_path $nginx_dir/body; proxy_temp_path $nginx_dir/proxy;"
    echo "  fastcgi_temp_path $nginx_dir/fastcgi; uwsgi_temp_path $nginx_dir/uwsgi; scgi_temp_path $nginx_dir/scgi;"
    echo "  upstream replicas {"
    for port in "${ports[@]}"; do echo "    server 127.0.0.1:$port;"; done
    echo "    keepalive 64; }"
    echo "  server { listen 127.0.0.1:$nginx_port; location / { proxy_pass http://replicas; proxy_http_version 1.1;"
    echo "    proxy_set_header Connection \"\"; proxy_buffering off; } } }"
  } > "$nginx_dir/nginx.conf"
  /usr/sbin/nginx -p "$nginx_dir" -c "$nginx_dir/nginx.conf" > "$nginx_dir/logs/stdout.log" 2>&1 &
  local nginx_pid=$!
  PIDS+=("$nginx_pid")
  for _ in $(seq 1 300); do
    curl -s -o /dev/null "http://127.0.0.1:$nginx_port/stub/openapi.json" && break
    sleep 0.1
  done
  expected="$(curl -sS -m 10 -X POST -H 'Content-Type: application/json' -d "$ECHO_BODY" \
    "http://127.0.0.1:$nginx_port/stub/echo")"
  [[ "$expected" == *hello* ]] || { KEEP_WORK=1; die "the replicas answered '$expected' through nginx"; }
  if (( WARMUP > 0 )); then run_wrk "http://127.0.0.1:$nginx_port/stub/echo" "$c" "$WARMUP" "$ECHO_BODY" /dev/null; fi
  out="$WORK/wrk-$tag.txt"
  BENCH_WRK_EXPECT="$expected" run_wrk "http://127.0.0.1:$nginx_port/stub/echo" "$c" "$DURATION" "$ECHO_BODY" "$out"
  stop "$nginx_pid"
  for pid in "${pids[@]}"; do stop "$pid"; done
  requests="$(wrk_field "$out" requests)"
  [[ -n "$requests" ]] || { KEEP_WORK=1; die "wrk failed against the replicas: $(cat "$out")"; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t-\t-\t-\t-\t%s\t-\t-\n' swift-mcpo-3-replicas "$transport" "$c" "$requests" \
    "$(wrk_field "$out" duration_us)" "$(wrk_field "$out" p50_us)" "$(wrk_field "$out" p99_us)" \
    "$(wrk_errors "$out")" >> "$RESULTS"
  printf '%s\t%s\t%s\n' "$transport" "$c" "$(wrk_field "$out" wrong)" >> "$WORK/replicas-wrong.tsv"
  log "3 replicas behind nginx over $transport, c=$c: $requests requests, $(wrk_errors "$out") errors, $(wrk_field "$out" wrong) wrong answers"
}

# run_interleaved <transport> <connections> <impl>: the bare proxy and <impl> started side by side, wrk alternating
# between them in $INTERLEAVE pairs of $SLICE-second slices (A B, then B A, …), so that both meet the same phases of
# a machine whose speed varies from one minute to the next (other guests on its host): best rounds of separate runs
# compare different minutes. Before each slice a pause of half a second, in which the other proxy's last audit batch
# (gathered for 0.1 s) is written rather than during the next proxy's slice (docs/benchmarks.md: it falls in none).
run_interleaved() {
  local transport="$1" c="$2" other="$3" impl out requests duration pair order tag
  local -A urls pids totals_req totals_us slice_rps
  local ratios="" errors=0
  for impl in swift-mcpo-bare "$other"; do
    tag="$transport-$impl-interleaved"
    governed_args "$transport" "$impl" "$tag"
    local port
    port="$(free_port)"
    urls[$impl]="http://127.0.0.1:$port/stub/echo"
    "$PYTHON" "$LAUNCH" ready --url "http://127.0.0.1:$port/stub/openapi.json" --pid-file "$WORK/$tag.pid" \
      --log "$WORK/$tag.log" --timeout 60 -- "$SWIFT_MCPO" --host 127.0.0.1 --port "$port" "${GOVERNED_ARGS[@]}" \
      "${PROXY_ARGS[@]}" > /dev/null || { KEEP_WORK=1; die "$impl did not start ($WORK/$tag.log)"; }
    pids[$impl]="$(< "$WORK/$tag.pid")"
    PIDS+=("${pids[$impl]}")
    local answer
    answer="$(curl -sS -m 10 -X POST -H 'Content-Type: application/json' -d "$ECHO_BODY" "${urls[$impl]}" || true)"
    [[ "$answer" == *hello* ]] || { KEEP_WORK=1; die "$impl: POST /echo answered '$answer' ($WORK/$tag.log)"; }
    if (( WARMUP > 0 )); then run_wrk "${urls[$impl]}" "$c" "$WARMUP" "$ECHO_BODY" /dev/null; fi
    totals_req[$impl]=0; totals_us[$impl]=0
  done
  for (( pair = 1; pair <= INTERLEAVE; pair++ )); do
    if (( pair % 2 )); then order=(swift-mcpo-bare "$other"); else order=("$other" swift-mcpo-bare); fi
    for impl in "${order[@]}"; do
      sleep 0.5
      out="$WORK/wrk-$transport-$impl-interleaved-$pair.txt"
      run_wrk "${urls[$impl]}" "$c" "$SLICE" "$ECHO_BODY" "$out"
      requests="$(wrk_field "$out" requests)"; duration="$(wrk_field "$out" duration_us)"
      [[ -n "$requests" && -n "$duration" ]] || { KEEP_WORK=1; die "wrk failed against $impl: $(cat "$out")"; }
      totals_req[$impl]=$(( ${totals_req[$impl]} + requests )); totals_us[$impl]=$(( ${totals_us[$impl]} + duration ))
      slice_rps[$impl]="$(awk -v r="$requests" -v d="$duration" 'BEGIN { printf "%.3f", r / (d / 1e6) }')"
      errors=$(( errors + $(wrk_errors "$out") ))
    done
    ratios+="${ratios:+,}$(awk -v a="${slice_rps[$other]}" -v b="${slice_rps[swift-mcpo-bare]}" 'BEGIN { printf "%.2f", a / b }')"
  done
  for impl in swift-mcpo-bare "$other"; do stop "${pids[$impl]}"; done
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$transport" "$c" "$other" "${totals_req[$other]}" "${totals_us[$other]}" \
    "${totals_req[swift-mcpo-bare]}" "${totals_us[swift-mcpo-bare]}" "$errors" "$ratios" >> "$WORK/interleaved.tsv"
  log "$other against bare over $transport, c=$c, interleaved: ${totals_req[$other]} and ${totals_req[swift-mcpo-bare]} requests, pairs $ratios"
}

IMPLS=(swift-mcpo)
if [[ -n "$BASELINE_MCPO" ]]; then
  [[ -x "$BASELINE_MCPO" ]] || die "BENCH_BASELINE=$BASELINE_MCPO is not an executable"
  IMPLS+=(swift-mcpo-base)
fi
(( WITH_MCPO )) && IMPLS+=(mcpo)
for (( round = 1; round <= REPEAT; round++ )); do
  if (( REPEAT > 1 )); then log "round $round of $REPEAT"; fi
  stub_baseline
  # The two proxies back to back for each concurrency, so that other work on the machine hits both alike.
  for transport in $TRANSPORTS; do
    for c in $CONCURRENCY; do
      for impl in "${IMPLS[@]}"; do
        run_case "$transport" "$impl" "$c"
      done
      # Callers with credentials, at the highest concurrency: a key, then a few JWTs reused.
      if (( WITH_AUTH )) && [[ "$c" == "${CONCURRENCY##* }" ]]; then
        run_case "$transport" swift-mcpo-key "$c"
        run_case "$transport" swift-mcpo-jwt "$c"
      fi
      # The MCP endpoint, at the highest concurrency: the same tool through POST /mcp.
      if (( WITH_MCP_ENDPOINT )) && [[ "$c" == "${CONCURRENCY##* }" ]]; then
        run_case "$transport" swift-mcpo-mcp "$c"
      fi
      # Accountability, at the highest concurrency: bare against audit log, metrics and a rate limit.
      if (( WITH_GOVERNANCE )) && [[ "$c" == "${CONCURRENCY##* }" ]]; then
        run_case "$transport" swift-mcpo-bare "$c"
        run_case "$transport" swift-mcpo-governed "$c"
      fi
      # Replicas, at the highest concurrency: the audit log in PostgreSQL, then three proxies behind nginx.
      if (( WITH_REPLICAS )) && [[ "$c" == "${CONCURRENCY##* }" ]]; then
        (( WITH_GOVERNANCE )) || run_case "$transport" swift-mcpo-bare "$c"
        run_case "$transport" swift-mcpo-pgaudit "$c"
        run_replicas "$transport" "$c"
      fi
    done
  done
done

# The targets of the audit cases, judged on the two proxies side by side (see run_interleaved).
: > "$WORK/interleaved.tsv"
if (( INTERLEAVE > 0 )); then
  for transport in $TRANSPORTS; do
    c="${CONCURRENCY##* }"
    (( WITH_REPLICAS )) && run_interleaved "$transport" "$c" swift-mcpo-pgaudit
    (( WITH_GOVERNANCE )) && run_interleaved "$transport" "$c" swift-mcpo-governed
  done
fi

# ---------------------------------------------------------------------------------------------------
# Report

mkdir -p "$RESULTS_DIR"
REPORT="$RESULTS_DIR/latest.md"
COMMAND_LINE="BENCH_DURATION=$DURATION BENCH_WARMUP=$WARMUP BENCH_REPEAT=$REPEAT BENCH_CONCURRENCY=\"$CONCURRENCY\" BENCH_TRANSPORTS=\"$TRANSPORTS\" BENCH_MCPO=$WITH_MCPO BENCH_INTERLEAVE=$INTERLEAVE BENCH_SLICE=$SLICE bench/run.sh"
CPU_MODEL="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
{
  echo "## Benchmark run of $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- command: \`$COMMAND_LINE\`"
  echo "- machine: $(nproc) cores ($CPU_MODEL), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
  echo "- swift-mcpo: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- Sources 2>/dev/null || echo ' + local changes'), release build with the static Swift stdlib; mcpo 0.0.20 on $("$PYTHON" -V 2>&1)"
  if (( WITH_AUTH )); then
    echo "- swift-mcpo-bare: config mode with \`--no-metrics\`; swift-mcpo-governed: config mode with an SQLite audit log, metrics and a rate limit of 1000000000/second per caller"
    echo "- swift-mcpo-key: \`--auth-config\` with one named API key; swift-mcpo-jwt: \`--auth-config\` with the identity provider fixture as JWT issuer, $JWT_TOKENS RS256 tokens used in turn (in the ratio rows the swift-mcpo column is the first case, the mcpo column the second)"
  fi
  echo "- wrk -t1 -c<C> -d${DURATION}s after a ${WARMUP}s warm-up, body \`$ECHO_BODY\` to POST /echo; one fresh proxy per row"
  if (( INTERLEAVE > 0 )) && [[ -s "$WORK/interleaved.tsv" ]]; then
    echo "- interleaved: after the rounds, the bare proxy and each audit case side by side, wrk alternating between them in $INTERLEAVE pairs of ${SLICE} s slices (bare first, then second, …); the 0.8 targets are judged there"
  fi
  echo "- other work on the machine: CPUs ${BUSY_START}% busy in the 2 s before the run; 1-minute load average $LOAD_START at the start, $(cut -d' ' -f1 /proc/loadavg) at the end"
  echo "- stub start on its own: ${STDIO_STUB_MS} ms over stdio (spawn → tools/list answered), ${HTTP_STUB_MS} ms over HTTP"
  echo
  awk -F'\t' -v tck="$CLK_TCK" -v dur="$DURATION" '
    function ms(us) { return sprintf("%.3f", us / 1000) }
    BEGIN {
      print "| proxy | transport | C | req/s | p50 ms | p99 ms | CPU µs/req | idle RSS MiB | idle anon MiB | peak RSS MiB | ready ms | errors | stub CPU % |"
      print "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    }
    {
      rps = $4 / ($5 / 1e6)
      if ($1 == "stub-direct") {
        printf "| stub direct | %s | %s | %.0f | %s | %s | - | - | - | - | - | %s | - |\n", $2, $3, rps, ms($6), ms($7), $12
        next
      }
      if ($1 == "swift-mcpo-3-replicas") {
        printf "| %s | %s | %s | %.0f | %s | %s | - | - | - | - | - | %s | - |\n", $1, $2, $3, rps, ms($6), ms($7), $12
        next
      }
      cpu = ($4 > 0) ? ($8 / tck) * 1e6 / $4 : 0
      printf "| %s | %s | %s | %.0f | %s | %s | %.1f | %.1f | %.1f | %.1f | %s | %s | %.0f |\n", $1, $2, $3, rps, ms($6), ms($7), cpu, $9 / 1024, $14 / 1024, $10 / 1024, $11, $12, ($13 / tck) / dur * 100
    }' "$RESULTS"
  echo
  awk -F'\t' -v stdio_stub="$STDIO_STUB_MS" -v order="$TRANSPORTS" -v tck="$CLK_TCK" \
    -v wrongfile="$WORK/replicas-wrong.tsv" -v pgfile="$WORK/postgres-cpu.tsv" \
    -v interleavedfile="$WORK/interleaved.tsv" -v slice="$SLICE" -v pairs="$INTERLEAVE" '
    BEGIN {
      while ((getline line < wrongfile) > 0) { split(line, f, "\t"); wrong[f[1], f[2]] += f[3] }
      # transport, C, case, its requests and µs, those of bare, errors, the ratio of each pair of slices
      while ((getline line < interleavedfile) > 0) {
        split(line, f, "\t"); k = f[3] SUBSEP f[1]
        il[k] = f[4] / (f[5] / 1e6); ilbare[k] = f[6] / (f[7] / 1e6); ilerrors[k] = f[8]; ilpairs[k] = f[9]
      }
      while ((getline line < pgfile) > 0) { split(line, f, "\t"); pgrows[f[1]] += f[2]; pgticks[f[1]] += f[3] }
    }
    function median3(key,   n, i, j, t, v) {
      n = count[key]; if (n == 0) return ""
      for (i = 1; i <= n; i++) v[i] = vals[key, i]
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
      return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    function add(key, value) { count[key]++; vals[key, count[key]] = value }
    {
      # Best round of each case: other work on the machine only ever makes figures worse.
      k = $1 SUBSEP $2 SUBSEP $3; r = $4 / ($5 / 1e6)
      if (!(k in rps) || r > rps[k]) rps[k] = r
      rounds[k]++; inround[k, rounds[k]] = r
      errors[k] += $12
      if (!(k in p50) || $6 + 0 < p50[k]) p50[k] = $6 + 0
      if ($1 != "stub-direct" && $4 > 0) { per = ($8 / tck) * 1e6 / $4; if (!(k in cpu) || per < cpu[k]) cpu[k] = per }
      if ($1 != "stub-direct" && $1 != "swift-mcpo-3-replicas") {
        add("idle" SUBSEP $1 SUBSEP $2, $9); add("anon" SUBSEP $1 SUBSEP $2, $14); add("ready" SUBSEP $1 SUBSEP $2, $11)
        seen[$2] = 1; impl[$1] = 1
      }
      if ($3 > maxc) maxc = $3
      if (minc == "" || $3 < minc) minc = $3
    }
    function verdict(ok) { return ok ? "met" : "**not met**" }
    # The target of a case against bare: judged on the interleaved comparison when there is one.
    function target(name, t, ratio) {
      return ((name, t) in il) ? "(best rounds; the target is judged interleaved, below)" : ">= 0.8: " verdict(ratio >= 0.8)
    }
    function interleaved(name, label, t,   k, r, list) {
      k = name SUBSEP t
      if (!(k in il)) return
      r = il[k] / ilbare[k]; list = ilpairs[k]; gsub(",", ", ", list)
      printf "| req/s at C=%s: %s \\| bare, interleaved (%d pairs of %d s slices, side by side) | %s | %.0f | %.0f | %.2f | >= 0.8: %s (errors: %d; pairs: %s) |\n", maxc, label, pairs, slice, t, il[k], ilbare[k], r, verdict(r >= 0.8), ilerrors[k], list
    }
    # The median of the per-round ratios of two cases (round i of one against round i of the other, measured a few
    # seconds apart), and the ratios themselves: steadier than the ratio of best rounds when the machine is busy.
    function paired(a, b, t, c,   ka, kb, n, i, j, x, v, list) {
      ka = a SUBSEP t SUBSEP c; kb = b SUBSEP t SUBSEP c
      n = (rounds[ka] < rounds[kb]) ? rounds[ka] : rounds[kb]
      if (n < 2) return ""
      list = ""
      for (i = 1; i <= n; i++) { v[i] = inround[ka, i] / inround[kb, i]; list = list (i > 1 ? ", " : "") sprintf("%.2f", v[i]) }
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
      return sprintf("%.2f | rounds: %s", (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2, list)
    }
    END {
      print "| figure | transport | swift-mcpo | mcpo | ratio | target |"
      print "|---|---|--:|--:|--:|---|"
      nt = split(order, transports, " ")
      for (k = 1; k <= nt; k++) {
        t = transports[k]
        if (!(t in seen)) continue
        has_mcpo = (("mcpo", t, maxc) in rps)  # before any rps["mcpo", …], which would create it
        s = rps["swift-mcpo", t, maxc]; m = has_mcpo ? rps["mcpo", t, maxc] : 0
        if (has_mcpo)
          printf "| req/s at C=%s | %s | %.0f | %.0f | %.1fx | >= 10x: %s |\n", maxc, t, s, m, s / m, verdict(s / m >= 10)
        else
          printf "| req/s at C=%s | %s | %.0f | - | - | - |\n", maxc, t, s
        if (("mcpo", t, maxc) in cpu)
          printf "| CPU per request at C=%s | %s | %.1f µs | %.1f µs | %.1fx less | |\n", maxc, t, cpu["swift-mcpo", t, maxc], cpu["mcpo", t, maxc], cpu["mcpo", t, maxc] / cpu["swift-mcpo", t, maxc]
        if (has_mcpo && (("swift-mcpo-base", t, maxc) in rps)) {
          b = rps["swift-mcpo-base", t, maxc]
          printf "| req/s at C=%s, baseline build | %s | %.0f | %.0f | %.1fx | this build: %.1fx (%+.1f%% against the baseline) |\n", maxc, t, b, m, b / m, s / m, (s / b - 1) * 100
          printf "| CPU per request at C=%s, baseline build | %s | %.1f µs | | | this build: %.1f µs |\n", maxc, t, cpu["swift-mcpo-base", t, maxc], cpu["swift-mcpo", t, maxc]
        }
        base = p50["stub-direct", "http", minc]
        split("swift-mcpo swift-mcpo-base mcpo", names, " ")
        for (ni = 1; ni <= 3; ni++) {
          name = names[ni]
          if (!(name in impl) || !((name, t, minc) in p50) || base == "") continue
          added = (p50[name, t, minc] - base) / 1000
          line = sprintf("| added p50 latency at C=%s (%s) | %s |", minc, name, t)
          if (name == "swift-mcpo") printf "%s %.3f ms | | | < 0.1 ms: %s |\n", line, added, verdict(added < 0.1)
          else if (name == "swift-mcpo-base") printf "%s %.3f ms | | | (the baseline build) |\n", line, added
          else printf "%s | %.3f ms | | |\n", line, added
        }
        if (!has_mcpo && (("swift-mcpo-base", t, maxc) in rps)) {
          b = rps["swift-mcpo-base", t, maxc]
          printf "| req/s at C=%s: this build \\| baseline build | %s | %.0f | %.0f | %.2f | |\n", maxc, t, s, b, s / b
        }
        if (("swift-mcpo-mcp", t, maxc) in rps) {
          p = rps["swift-mcpo-mcp", t, maxc]
          printf "| req/s at C=%s: MCP endpoint (POST /mcp) \\| REST (POST /echo) | %s | %.0f | %.0f | %.2f | (not a target) |\n", maxc, t, p, s, p / s
        }
        if (("swift-mcpo-jwt", t, maxc) in rps) {
          j = rps["swift-mcpo-jwt", t, maxc]; a = rps["swift-mcpo-key", t, maxc]
          printf "| req/s at C=%s: JWT callers (a few tokens reused) \\| API key | %s | %.0f | %.0f | %.2f | >= 0.9: %s |\n", maxc, t, j, a, j / a, verdict(j / a >= 0.9)
          printf "| req/s at C=%s: API key \\| no credential | %s | %.0f | %.0f | %.2f | |\n", maxc, t, a, s, a / s
        }
        if (("swift-mcpo-pgaudit", t, maxc) in rps) {
          g = rps["swift-mcpo-pgaudit", t, maxc]; n = rps["swift-mcpo-bare", t, maxc]
          printf "| req/s at C=%s: audit log in PostgreSQL \\| bare | %s | %.0f | %.0f | %.2f | %s |\n", maxc, t, g, n, g / n, target("swift-mcpo-pgaudit", t, g / n)
          pr = paired("swift-mcpo-pgaudit", "swift-mcpo-bare", t, maxc)
          if (pr != "") printf "| req/s at C=%s: audit log in PostgreSQL \\| bare, median of the per-round ratios | %s | | | %s |\n", maxc, t, pr
        }
        interleaved("swift-mcpo-pgaudit", "audit log in PostgreSQL", t)
        if (t in pgrows && pgrows[t] > 0)
          printf "| PostgreSQL CPU per audit record at C=%s (its own processes, on the same 2 cores) | %s | %.1f µs | | | (not a target) |\n", maxc, t, pgticks[t] / tck * 1e6 / pgrows[t]
        if (("swift-mcpo-3-replicas", t, maxc) in rps) {
          r = rps["swift-mcpo-3-replicas", t, maxc]; n = rps["swift-mcpo-pgaudit", t, maxc]
          printf "| req/s at C=%s: 3 replicas behind nginx \\| one proxy, both with the PostgreSQL audit log | %s | %.0f | %.0f | %.2f | errors: %d, wrong answers: %s (2 cores: correctness under load, not scaling) |\n", maxc, t, r, n, r / n, errors["swift-mcpo-3-replicas", t, maxc], wrong[t, maxc]
        }
        if (("swift-mcpo-governed", t, maxc) in rps) {
          g = rps["swift-mcpo-governed", t, maxc]; n = rps["swift-mcpo-bare", t, maxc]
          printf "| req/s at C=%s: audit log, metrics, rate limit \\| bare | %s | %.0f | %.0f | %.2f | %s |\n", maxc, t, g, n, g / n, target("swift-mcpo-governed", t, g / n)
          pr = paired("swift-mcpo-governed", "swift-mcpo-bare", t, maxc)
          if (pr != "") printf "| req/s at C=%s: audit log, metrics, rate limit \\| bare, median of the per-round ratios | %s | | | %s |\n", maxc, t, pr
        }
        interleaved("swift-mcpo-governed", "audit log, metrics, rate limit", t)
        bi = median3("idle" SUBSEP "swift-mcpo-base" SUBSEP t)
        si = median3("idle" SUBSEP "swift-mcpo" SUBSEP t); mi = median3("idle" SUBSEP "mcpo" SUBSEP t)
        if (bi != "" && mi != "")
          printf "| idle RSS (median), baseline build | %s | %.1f MiB | %.1f MiB | %.2f | |\n", t, bi / 1024, mi / 1024, bi / mi
        if (mi != "")
          printf "| idle RSS (median) | %s | %.1f MiB | %.1f MiB | %.2f | <= 0.20: %s |\n", t, si / 1024, mi / 1024, si / mi, verdict(si / mi <= 0.2)
        else
          printf "| idle RSS (median) | %s | %.1f MiB | - | - | - |\n", t, si / 1024
        sa = median3("anon" SUBSEP "swift-mcpo" SUBSEP t); ma = median3("anon" SUBSEP "mcpo" SUBSEP t)
        if (ma != "")
          printf "| idle anonymous memory (median) | %s | %.1f MiB | %.1f MiB | %.2f | (not a target; RSS minus mapped files) |\n", t, sa / 1024, ma / 1024, sa / ma
        sr = median3("ready" SUBSEP "swift-mcpo" SUBSEP t); mr = median3("ready" SUBSEP "mcpo" SUBSEP t)
        own = (t == "stdio") ? stdio_stub : 0
        printf "| ready (median) | %s | %.1f ms | %s | %s | <= 50 ms + stub start (%.1f ms): %s |\n", t, sr, (mr != "") ? sprintf("%.1f ms", mr) : "-", (mr != "") ? sprintf("%.2f", sr / mr) : "-", own, verdict(sr <= 50 + own)
      }
    }' "$RESULTS"
} > "$REPORT"

cat "$REPORT"
log "written to ${REPORT#"$ROOT"/}"
