-- RedisTokenBucket's one round trip: reserve the next free instant, return the wait.
--
-- Same two rules as the in-process TokenBucket, on the Redis server's clock (TIME), in
-- integer microseconds:
--   * sliding window: the rate-th grant back must lie period + margin or more in the past;
--   * bucket (GCRA): at most `burst` back to back, then one every period / rate.
-- Reservations never go backwards (each is at or after the previous one), so callers
-- are served in reservation order across every process sharing the bucket.
--
-- KEYS[1]  hash: tat (GCRA theoretical arrival time), paused (no grant before it)
-- KEYS[2]  list: the last `rate` reserved instants, oldest first
-- ARGV     rate, period_us, margin_us, burst, pause_us, uptime_s, reserve (1 or 0)
--
-- A missing hash means a new bucket, an idle one that expired (its history no longer
-- matters), or a Redis server that restarted and lost grants it made moments ago. The
-- script cannot tell them apart, so it answers -1 until the caller passes the server's
-- uptime: a server up for less than period + margin holds every grant until
-- period + margin after it started, so grants made before a restart stay counted.
-- Returns the wait in microseconds (0 for a pause without reservation), or -1.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local rate = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local margin = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local pause = tonumber(ARGV[5])
local uptime = tonumber(ARGV[6])
local interval = period / rate

local tat = 0
local paused = 0
if redis.call('EXISTS', KEYS[1]) == 0 then
  if uptime < 0 then
    return -1
  end
  -- INFO's uptime is a difference of whole seconds: it may be up to one second more
  -- than the real uptime. One second less keeps the start taken here no earlier
  -- than the real one.
  local up = math.max(0, uptime - 1) * 1000000
  if up < period + margin then
    paused = now - up + period + margin
  end
else
  local state = redis.call('HMGET', KEYS[1], 'tat', 'paused')
  tat = tonumber(state[1]) or 0
  paused = tonumber(state[2]) or 0
end
if pause > 0 then
  paused = math.max(paused, now + pause)
end

local wait = 0
if ARGV[7] == '1' then
  local at = math.max(now, tat - (burst - 1) * interval, paused)
  local newest = redis.call('LINDEX', KEYS[2], -1)
  if newest then
    at = math.max(at, tonumber(newest))
  end
  if redis.call('LLEN', KEYS[2]) >= rate then
    at = math.max(at, tonumber(redis.call('LINDEX', KEYS[2], -rate)) + period + margin)
  end
  at = math.ceil(at)
  tat = math.max(tat, at) + interval
  redis.call('RPUSH', KEYS[2], string.format('%.0f', at))
  redis.call('LTRIM', KEYS[2], -rate, -1)
  wait = at - now
end

redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', tat), 'paused', string.format('%.0f', paused))
-- Keep both keys while they still matter: the newest grant's window, tat and the pause.
local horizon = math.max(tat, paused, now)
local newest = redis.call('LINDEX', KEYS[2], -1)
if newest then
  horizon = math.max(horizon, tonumber(newest) + period + margin)
end
local ttl = math.ceil((horizon - now) / 1000) + 1000
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return wait
