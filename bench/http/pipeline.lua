-- pipeline.lua: the wrk script of the ioloop HTTP benchmarks.
--
-- Every connection sends GET /plaintext (or the path in the environment
-- variable WRK_PATH, /plaintext by default) with the headers a
-- browser-like client sends (as TechEmpower's plaintext test does). The environment
-- variable WRK_PIPELINE (default 16) sets how many requests are written
-- back to back on a connection before their responses are read; with 1 the
-- script leaves wrk's static request in place (plain keep-alive).
--
-- The script marks the measured window for the harness: "window-start" is
-- written to standard error when wrk sets up its thread (before any
-- connection is opened) and "window-end" when wrk reports (after its
-- threads have stopped, before its sockets are closed at exit). done()
-- then prints one JSON line on standard output with the totals: requests
-- (responses completed), duration_us, bytes, the error counters, and the
-- latency mean and percentiles in microseconds. With pipelining, wrk's
-- latency is the time of a whole batch of WRK_PIPELINE responses.

local depth = tonumber(os.getenv("WRK_PIPELINE") or "16") or 16

wrk.method = "GET"
wrk.path = os.getenv("WRK_PATH") or "/plaintext"
wrk.headers["Accept"] = "text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7"
wrk.headers["Connection"] = "keep-alive"

if depth > 1 then
   local batch = nil
   request = function()
      if batch == nil then
         local one = wrk.format()
         local parts = {}
         for i = 1, depth do
            parts[i] = one
         end
         batch = table.concat(parts)
      end
      return batch
   end
end

setup = function(thread)
   io.stderr:write("window-start\n")
   io.stderr:flush()
end

done = function(summary, latency, requests)
   io.stderr:write("window-end\n")
   io.stderr:flush()
   local e = summary.errors
   io.write(string.format(
      '{"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,' ..
      '"write_errors":%d,"status_errors":%d,"timeouts":%d,"depth":%d,' ..
      '"lat_mean_us":%.1f,"lat_p50_us":%d,"lat_p90_us":%d,"lat_p99_us":%d,"lat_max_us":%d}\n',
      summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
      e.timeout, depth, latency.mean, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max))
   io.flush()
end
