-- wrk script for `make bench` (bench/harness.py sets the environment it reads).
--
-- BENCH_REQUESTS  file with one request per line: "PATH" or "PATH<TAB>BODY"; each thread
--                 walks it in turn, so a run visits many products, not one cached URL
-- BENCH_METHOD    GET or POST
-- BENCH_COOKIE    Cookie header: the session a browser that keeps its cookies would send
--
-- Every status is counted in response() and printed by done() as one JSON line, so the
-- harness can tell "all 200" from "mostly 200" without trusting wrk's 2xx/3xx lump sum.
-- Requests sent are counted too: wrk stops with some in flight, and the harness waits
-- until gunicorn has logged every one before it measures anything else.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  requests = {}
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    local path, body = line:match("^([^\t]*)\t(.*)$")
    table.insert(requests, { path = path or line, body = body })
  end
  method = os.getenv("BENCH_METHOD") or "GET"
  headers = { Cookie = os.getenv("BENCH_COOKIE") or "" }
  if method == "POST" then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
  end
  -- Threads start at different places in the list, as different visitors would.
  index = id * 7
  statuses = {}
  -- wrk 4.1 calls request() once on its first thread to check the script, sending nothing.
  sent = id == 1 and -1 or 0
end

function request()
  index = index % #requests + 1
  sent = sent + 1
  local r = requests[index]
  return wrk.format(method, r.path, headers, r.body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts, total_sent = {}, 0
  for _, thread in ipairs(threads) do
    total_sent = total_sent + thread:get("sent")
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH-RESULT {"duration_us": %d, "requests": %d, "sent": %d, "p50_us": %d, "p99_us": %d, '
      .. '"max_us": %d, "statuses": {%s}, "errors": {"connect": %d, "read": %d, '
      .. '"write": %d, "status": %d, "timeout": %d}}\n',
    summary.duration, summary.requests, total_sent, latency:percentile(50), latency:percentile(99),
    latency.max, table.concat(parts, ", "), e.connect, e.read, e.write, e.status, e.timeout
  ))
end
