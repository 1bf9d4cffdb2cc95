-- report.lua: wrk script for the fixed-request scenarios (/healthz, /api/me,
-- /auth/check, /spid/login). It does not touch the request path (wrk keeps
-- its fast static-request mode) and only adds done(), which prints one line
--   BENCH_JSON {...}
-- with wrk's own summary and latency percentiles (microseconds) so run.py
-- does not have to parse wrk's human-readable text.

function done(summary, latency, requests)
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"rps":%.1f,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_us":{"mean":%.1f,"stdev":%.1f,"max":%d,'
      .. '"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
      summary.requests, summary.duration, summary.bytes,
      secs > 0 and summary.requests / secs or 0,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency.stdev, latency.max,
      latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9)))
end
