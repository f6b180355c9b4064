-- wrk script of bench/run.sh: POSTs one JSON body to the URL's path and prints one parsable line
-- with the figures (latencies in microseconds) when the run is over.
--   BENCH_WRK_BODY     the body (default {"text":"hello"}, the arguments of POST /echo)
--   BENCH_WRK_ACCEPT   the Accept header (default */*, as aiohttp in Open WebUI sends it)
--   BENCH_WRK_AUTH     Authorization values separated by "|", used in turn (default: none)
--   BENCH_WRK_EXPECT   the body every answer must have (with status 200); others are counted as wrong
wrk.method = "POST"
wrk.body = os.getenv("BENCH_WRK_BODY") or '{"text":"hello"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = os.getenv("BENCH_WRK_ACCEPT") or "*/*"

local authorizations = {}
for value in string.gmatch(os.getenv("BENCH_WRK_AUTH") or "", "[^|]+") do
  table.insert(authorizations, value)
end

local prepared = {}
local turn = 0

init = function(args)
  -- Made once: each request then costs the same lookup with one credential or several.
  for i, value in ipairs(authorizations) do
    local headers = {}
    for name, header in pairs(wrk.headers) do headers[name] = header end
    headers["Authorization"] = value
    prepared[i] = wrk.format(nil, nil, headers, nil)
  end
end

if #authorizations > 0 then
  request = function()
    turn = turn % #prepared + 1
    return prepared[turn]
  end
end

local expect = os.getenv("BENCH_WRK_EXPECT")
local threads = {}
wrong = 0

setup = function(thread)
  table.insert(threads, thread)
end

if expect then
  response = function(status, headers, body)
    if status ~= 200 or body ~= expect then wrong = wrong + 1 end
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  local wrong_total = 0
  for _, thread in ipairs(threads) do wrong_total = wrong_total + (thread:get("wrong") or 0) end
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d"
      .. " errors_connect=%d errors_read=%d errors_write=%d errors_status=%d errors_timeout=%d wrong=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout, wrong_total))
end
