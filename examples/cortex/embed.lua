-- wrk script: POST /embed over a fixed set of texts, counting which source
-- answered (embedding, cache, backup, zeros) across all of wrk's threads.
--   wrk -t2 -c8 -d5s --latency -s embed.lua http://127.0.0.1:4949 -- TOKEN [PREFIX]
local texts = {"alpha beta", "gamma delta", "epsilon zeta", "eta theta",
               "iota kappa", "lambda mu", "nu xi", "omicron pi"}
local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   token = args[1] or "bench"
   prefix = args[2] or ""
   n = 0
   counts = {embedding = 0, cache = 0, backup = 0, zeros = 0, other = 0}
end

function request()
   n = n + 1
   local body = '{"texts": ["' .. prefix .. texts[(n % #texts) + 1] .. '"]}'
   return wrk.format("POST", "/embed", {["Content-Type"] = "application/json",
                                        ["Authorization"] = "Bearer " .. token}, body)
end

function response(status, headers, body)
   local s = body:match('"source":"(%a+)"')
   if status == 200 and s and counts[s] then
      counts[s] = counts[s] + 1
   else
      counts.other = counts.other + 1
   end
end

function done(summary, latency, requests)
   local t = {embedding = 0, cache = 0, backup = 0, zeros = 0, other = 0}
   for _, thread in ipairs(threads) do
      local c = thread:get("counts")
      for k, v in pairs(c) do t[k] = t[k] + v end
   end
   io.write(string.format("sources embedding=%d cache=%d backup=%d zeros=%d other=%d\n",
                          t.embedding, t.cache, t.backup, t.zeros, t.other))
   io.write(string.format("latency_ms p50=%.2f p90=%.2f p99=%.2f max=%.2f requests=%d\n",
                          latency:percentile(50) / 1000, latency:percentile(90) / 1000,
                          latency:percentile(99) / 1000, latency.max / 1000,
                          summary.requests))
end
