-- acs.lua: POST pre-generated, fresh SAML Responses to /spid/acs, each
-- exactly once.
--
--   wrk -t T -c C -d D -s acs.lua http://127.0.0.1:PORT/spid/acs -- FILE T
--
-- FILE has one line per Response: "<spid_sp_login cookie>\t<form body>",
-- the body being "SAMLResponse=...&RelayState=..." already URL-encoded
-- (run.py writes it). Thread k of T takes lines k, k+T, k+2T, ... so no
-- Response is posted twice. When a thread has posted all of its lines, its
-- connections go idle (request() hands wrk an empty request: nothing is
-- written) and the thread stops (wrk.thread:stop()) as soon as every posted
-- Response has been answered, so the in-flight ones are counted too.
--
-- wrk's own Requests/sec divides by the whole -d duration, which is wrong
-- once the threads stop early, so each thread records (CLOCK_MONOTONIC via
-- LuaJIT's ffi) when it sent its first Response and when it got its last
-- 302; done() prints the rate over that window as one line
--   BENCH_JSON {...}
-- Any answer other than 302 is an error, counted per status code.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("bench_timespec")

local function now_us()
   ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
   return tonumber(ts.tv_sec) * 1000000 + math.floor(tonumber(ts.tv_nsec) / 1000)
end

-- ---------------------------------------------------------------- setup (main state)

local threads = {}
local next_tid = 0

function setup(thread)
   thread:set("tid", next_tid)
   next_tid = next_tid + 1
   table.insert(threads, thread)
end

-- ---------------------------------------------------------------- running (per thread)

tid = tid or 0
reqs = {}
idx = 1
used = 0          -- Responses handed to wrk (posted)
ok = 0            -- 302 answers
bad = 0           -- any other answer
statuses = ""     -- "code:count,..." of the bad ones
first_us = 0
last_us = 0
exhausted = false
stopped = false
verified = false
discarded = 0     -- consumed by wrk's request check, never posted
local bad_by_status = {}

function init(args)
   local file = args[1]
   local nthreads = tonumber(args[2] or "1")
   local f = assert(io.open(file, "r"))
   local i = 0
   for line in f:lines() do
      if i % nthreads == tid then
         local cookie, body = line:match("^([^\t]*)\t(.*)$")
         if cookie then
            reqs[#reqs + 1] = wrk.format("POST", nil, {
               ["Host"] = wrk.headers["Host"],
               ["Cookie"] = "spid_sp_login=" .. cookie,
               ["Content-Type"] = "application/x-www-form-urlencoded",
            }, body)
         end
      end
      i = i + 1
   end
   f:close()
end

local function maybe_stop()
   if exhausted and not stopped and ok + bad >= used then
      stopped = true
      wrk.thread:stop()
   end
end

function request()
   -- wrk 4 calls request() once on thread 0 before the thread starts, only
   -- to parse the result (script_verify_request). That first Response is
   -- consumed but not counted as posted: it is never sent (and were a wrk
   -- version to send it, it would still be sent only once).
   if tid == 0 and not verified then
      verified = true
      if #reqs == 0 then
         return ""
      end
      local r = reqs[1]
      reqs[1] = false
      idx = 2
      discarded = 1
      return r
   end
   if idx > #reqs then
      exhausted = true
      maybe_stop()
      return "" -- nothing to write: the connection waits idle
   end
   if first_us == 0 then
      first_us = now_us()
   end
   local r = reqs[idx]
   reqs[idx] = false -- posted: never again, and let the memory go
   idx = idx + 1
   used = used + 1
   return r
end

function response(status, headers, body)
   if status == 302 then
      ok = ok + 1
      last_us = now_us()
   else
      bad = bad + 1
      bad_by_status[status] = (bad_by_status[status] or 0) + 1
      local parts = {}
      for code, n in pairs(bad_by_status) do
         parts[#parts + 1] = code .. ":" .. n
      end
      statuses = table.concat(parts, ",")
   end
   maybe_stop()
end

-- ---------------------------------------------------------------- done (main state)

function done(summary, latency, requests)
   local t_used, t_ok, t_bad, t_disc, first, last = 0, 0, 0, 0, nil, nil
   local codes = {}
   for _, t in ipairs(threads) do
      t_used = t_used + t:get("used")
      t_ok = t_ok + t:get("ok")
      t_bad = t_bad + t:get("bad")
      t_disc = t_disc + t:get("discarded")
      local f, l = t:get("first_us"), t:get("last_us")
      if f > 0 and (first == nil or f < first) then first = f end
      if l > 0 and (last == nil or l > last) then last = l end
      local s = t:get("statuses")
      for code, n in s:gmatch("(%d+):(%d+)") do
         codes[code] = (codes[code] or 0) + tonumber(n)
      end
   end
   local window = (first and last and last > first) and (last - first) or 0
   local parts = {}
   for code, n in pairs(codes) do
      parts[#parts + 1] = string.format('"%s":%d', code, n)
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"used":%d,"discarded":%d,"ok":%d,"bad":%d,"bad_status":{%s},"window_us":%d,'
      .. '"rps":%.1f,"requests":%d,"duration_us":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_us":{"mean":%.1f,"stdev":%.1f,"max":%d,'
      .. '"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
      t_used, t_disc, t_ok, t_bad, table.concat(parts, ","), window,
      window > 0 and t_ok / (window / 1e6) or 0,
      summary.requests, summary.duration,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency.stdev, latency.max,
      latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9)))
end
