-- wrk script for `npm run bench`: every request names a file of the benchmark's file table and comes "from" a
-- client of the GeoIP fixtures (X-Forwarded-For, believed from 127.0.0.1 by nginx's realip module), so GeoIP
-- and the selection really run.
--
--   wrk ... -s bench/wrk/paths.lua URL -- BASE FIRST COUNT QUERY MODE CLIENTS THREADS
--     BASE     prepended to the file path ("" for Mirrorlane, "/bench-302" for the nginx `return 302` baseline)
--     FIRST    number of the first file to draw from; COUNT: how many (files FIRST .. FIRST+COUNT-1)
--     QUERY    "" or a query string with its "?" ("?json", "?mirrorlist")
--     MODE     random: uniform draws; seq: each thread walks its share of the range once, then again
--     CLIENTS  comma-separated client addresses
--     THREADS  wrk's -t (the stride of seq mode)
--
-- The path of file number i must stay the same as filePath() in bench/lib/dataset.ts and the SQL there.

local threads = 0

function setup(thread)
  thread:set("thread_no", threads)
  threads = threads + 1
end

local base, first, count, query, mode, clients
local step, cursor

local function file_path(i)
  return string.format("/pub/releases/15.%d/repo/d%d/package-%d-1.%d.x86_64.rpm", i % 7, i % 997, i, i % 13)
end

function init(args)
  base = args[1] or ""
  first = tonumber(args[2])
  count = tonumber(args[3])
  query = args[4] or ""
  mode = args[5] or "random"
  clients = {}
  for ip in string.gmatch(args[6] or "127.0.0.1", "[^,]+") do clients[#clients + 1] = ip end
  local no = thread_no or 0
  math.randomseed(os.time() * 7919 + no * 104729)
  -- seq: thread k of n takes files FIRST+k, FIRST+k+n, ...
  step = tonumber(args[7] or "1")
  cursor = no
end

function request()
  local i
  if mode == "seq" then
    i = first + (cursor % count)
    cursor = cursor + step
  else
    i = first + math.random(count) - 1
  end
  local headers = { ["X-Forwarded-For"] = clients[math.random(#clients)] }
  return wrk.format("GET", base .. file_path(i) .. query, headers)
end
