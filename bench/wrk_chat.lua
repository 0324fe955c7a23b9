-- wrk script for bench/relay_vs_proxy.sh: POSTs one realistic chat-completions request again
-- and again, then prints a single `RESULT {...}` JSON line with throughput, latency and errors.
-- Environment: BENCH_KEY (bearer key), BENCH_STREAM (1 = stream with include_usage),
--              BENCH_MODEL (default gpt-4o-mini).
local key = os.getenv("BENCH_KEY") or "sk-bench"
local stream = os.getenv("BENCH_STREAM") == "1"
local model = os.getenv("BENCH_MODEL") or "gpt-4o-mini"

local stream_fields = '"stream":false'
if stream then
  stream_fields = '"stream":true,"stream_options":{"include_usage":true}'
end

wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = stream and "text/event-stream" or "application/json"
wrk.headers["User-Agent"] = "OpenAI/Python 1.54.0"
wrk.body = '{"model":"' .. model .. '","messages":['
  .. '{"role":"system","content":"You answer briefly, in two sentences at most, without markdown."},'
  .. '{"role":"user","content":"We are choosing a gateway for OpenAI-compatible traffic. '
  .. 'Explain in one short paragraph why the gateway should add very little latency, and list '
  .. 'what it does on each request: authentication, routing, accounting and logging."}'
  .. '],"temperature":0.2,"max_tokens":256,"user":"bench-user",' .. stream_fields .. '}'

done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"secs":%.3f,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,'
      .. '"max_ms":%.3f,"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,'
      .. '"err_timeout":%d}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.connect, e.read, e.write, e.status, e.timeout))
end
