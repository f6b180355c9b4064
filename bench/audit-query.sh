#!/usr/bin/env bash
# How fast the audit log answers a query with a server and tool filter over 1,000,000 records.
#
#   bench/audit-query.sh                 (BENCH_RECORDS=1000000 BENCH_QUERIES=50 BENCH_SCRATCH=.build-release)
#
# Makes the store with the proxy (so the schema is the proxy's), fills it with Python's sqlite3 (100 servers ×
# 20 tools, times spread over 90 days in the order they are written), starts the release proxy on it, and times GET /audit?server=&tool= with curl
# on 127.0.0.1 (first page, limit 100; then the next page by its cursor). Prints the median and the slowest answer.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RECORDS="${BENCH_RECORDS:-1000000}"
QUERIES="${BENCH_QUERIES:-50}"
SCRATCH="${BENCH_SCRATCH:-.build-release}"
MCPO="$ROOT/$SCRATCH/shipped/mcpo"
SERVER="$ROOT/$SCRATCH/shipped/mcp-bench-server"
[[ -x "$MCPO" && -x "$SERVER" ]] || { echo "release binaries missing: scripts/build-release.sh --scratch-path $SCRATCH mcpo mcp-bench-server" >&2; exit 1; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/mcpo-audit-query.XXXXXX")"
PID=""
cleanup() { [[ -n "$PID" ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
DB="$WORK/audit.db"
# The proxy makes the store and its tables, then stops.
"$MCPO" --host 127.0.0.1 --port "$PORT" --audit "sqlite://$DB" -- "$SERVER" > "$WORK/first.log" 2>&1 &
PID=$!
for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/openapi.json" && break; sleep 0.1; done
kill "$PID"; wait "$PID" || true; PID=""
echo "filling $DB with $RECORDS records" >&2
python3 - "$DB" "$RECORDS" <<'PY'
import json, random, sqlite3, sys, time
db, count = sys.argv[1], int(sys.argv[2])
connection = sqlite3.connect(db)
now = int(time.time() * 1000)
random.seed(7)
outcomes = ["ok"] * 8 + ["tool_error", "rate_limited"]
def rows():
    for index in range(count):
        server, tool = f"server{index % 100}", f"tool{(index // 100) % 20}"
        # In the order of their times, as a proxy writes them: 90 days up to now.
        time_ms = now - 90 * 86_400_000 + index * (90 * 86_400_000 // count)
        outcome, duration = random.choice(outcomes), random.random() * 50
        record = {"id": f"bench-{index:08x}", "caller": f"caller{index % 37}", "server": server, "tool": tool,
                  "argsSha256": "0" * 64, "status": 200, "outcome": outcome, "durationMs": duration,
                  "output": '{"result":"ok"}', "risk": "medium", "replica": "bench"}
        yield (record["id"], time_ms, server, tool, record["caller"], outcome, duration, json.dumps(record))
connection.executemany(
    "INSERT INTO audit_records (id, time_ms, server, tool, caller, outcome, duration_ms, record) "
    "VALUES (?,?,?,?,?,?,?,?)", rows())
connection.commit()
connection.close()
PY
"$MCPO" --host 127.0.0.1 --port "$PORT" --api-key bench --audit "sqlite://$DB" -- "$SERVER" > "$WORK/proxy.log" 2>&1 &
PID=$!
for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/openapi.json" && break; sleep 0.1; done
query() { curl -s -o "$WORK/page.json" -w '%{time_total}\n' -H 'Authorization: Bearer bench' "http://127.0.0.1:$PORT/audit?$1"; }
query "server=server42&tool=tool7" > /dev/null   # the first read warms the page cache
: > "$WORK/times"
for _ in $(seq "$QUERIES"); do
  query "server=server$((RANDOM % 100))&tool=tool$((RANDOM % 20))" >> "$WORK/times"
done
NEXT="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["next"])' "$WORK/page.json")"
for _ in $(seq "$QUERIES"); do query "server=server42&tool=tool7&cursor=$NEXT" >> "$WORK/times-next"; done
for _ in 1 2 3 4 5; do query "since=7d" >> "$WORK/times-window"; done
for _ in 1 2 3; do curl -s -o /dev/null -w '%{time_total}\n' -H 'Authorization: Bearer bench' "http://127.0.0.1:$PORT/audit/stats?since=7d" >> "$WORK/times-stats"; done
COUNT="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["records"]))' "$WORK/page.json")"
python3 - "$WORK/times" "$WORK/times-next" "$RECORDS" "$COUNT" "$WORK/times-window" "$WORK/times-stats" <<'PY'
import statistics, sys
for label, path in (("first page", sys.argv[1]), ("next page (cursor)", sys.argv[2]),
                    ("no filter, since=7d (not a target)", sys.argv[5]), ("GET /audit/stats?since=7d (not a target)", sys.argv[6])):
    times = sorted(float(line) * 1000 for line in open(path) if line.strip())
    print(f"GET /audit?server=&tool= over {int(sys.argv[3]):,} records, {label}: median {statistics.median(times):.1f} ms, "
          f"slowest {times[-1]:.1f} ms of {len(times)} ({sys.argv[4]} records a page)")
PY
