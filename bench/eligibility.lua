-- wrk script for bench/eligibility.py: POST /graphql with a random pre-built body per request.
--
--   wrk -t2 -c8 -d20s -s bench/eligibility.lua http://127.0.0.1:PORT/graphql -- BODIES_FILE [HEADERS_FILE]
--
-- BODIES_FILE holds one JSON request body per line (written by eligibility.py). HEADERS_FILE, if
-- given, holds extra request headers, one "Name: value" per line (eligibility.py writes the
-- `Authorization: Bearer ...` and `X-Purpose` headers there); they are sent with every request.
-- Every response that is not HTTP 200, or whose body carries a GraphQL "errors" key, is counted
-- as a failure. done() prints one line "WRK_JSON {...}" that eligibility.py parses.

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("tid", counter)
   table.insert(threads, thread)
end

function init(args)
   local path = args[1]
   bodies = {}
   for line in io.lines(path) do
      if #line > 0 then
         bodies[#bodies + 1] = line
      end
   end
   if #bodies == 0 then
      error("no request bodies in " .. tostring(path))
   end
   math.randomseed(os.time() * 1000 + tid)
   headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }
   if args[2] and #args[2] > 0 then
      for line in io.lines(args[2]) do
         local name, value = string.match(line, "^([^:%s]+):%s*(.-)%s*$")
         if name then
            headers[name] = value
         elseif string.match(line, "%S") then
            error("not a `Name: value` header line in " .. args[2] .. ": " .. line)
         end
      end
   end
   gql_errors = 0
   bad_status = 0
   first_error = ""
end

function request()
   return wrk.format("POST", nil, headers, bodies[math.random(#bodies)])
end

function response(status, hdrs, body)
   if status ~= 200 then
      bad_status = bad_status + 1
      if first_error == "" then first_error = "HTTP " .. status .. ": " .. string.sub(body or "", 1, 400) end
   elseif body and string.find(body, '"errors"', 1, true) then
      gql_errors = gql_errors + 1
      if first_error == "" then first_error = string.sub(body, 1, 400) end
   end
end

local function jstr(s)
   s = string.gsub(s, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end)
   return '"' .. s .. '"'
end

function done(summary, latency, requests)
   local gql, status, first = 0, 0, ""
   for _, t in ipairs(threads) do
      gql = gql + (t:get("gql_errors") or 0)
      status = status + (t:get("bad_status") or 0)
      local f = t:get("first_error") or ""
      if first == "" then first = f end
   end
   local e = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,' ..
      '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,' ..
      '"graphql_errors":%d,"non_200":%d,"first_error":%s}\n',
      summary.requests, summary.duration, summary.bytes,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
      e.connect, e.read, e.write, e.status, e.timeout, gql, status, jstr(first)))
end
