-- wrk script of bench/run.sh: POSTs one JSON body to the URL's path and prints one parsable line
-- with the figures (latencies in microseconds) when the run is over.
--   BENCH_WRK_BODY     the body (default {"text":"hello"}, the arguments of POST /echo)
--   BENCH_WRK_ACCEPT   the Accept header (default */*, as aiohttp in Open WebUI sends it)
wrk.method = "POST"
wrk.body = os.getenv("BENCH_WRK_BODY") or '{"text":"hello"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = os.getenv("BENCH_WRK_ACCEPT") or "*/*"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d"
      .. " errors_connect=%d errors_read=%d errors_write=%d errors_status=%d errors_timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
