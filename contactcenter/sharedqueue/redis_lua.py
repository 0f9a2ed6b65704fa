"""The Lua library every script of RedisSharedQueues starts with (redis_scripts.py): key names,
agent indexing by strategy, call placement, assignment. Arguments: see redis_scripts.py."""

from __future__ import annotations

# Round robin: a READY agent's score is round * RR + position (positions < RR).
RR = 1 << 20
# Answers remembered per queue for the estimated wait (as acd/core.py EWT_MAX_ANSWERS).
MAX_ANSWERS = 200

LIB = f"""
local P, NOW, DAY = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local DRAWS = cjson.decode(ARGV[4])
local RR = {RR}
local function akey(a) return P .. 'a:' .. a end
local function ckey(c) return P .. 'c:' .. c end
local function rkey(q, pf, pen) return P .. 'r:' .. q .. ':' .. pf .. ':' .. pen end
local function wkey(q, pf) return P .. 'w:' .. q .. ':' .. pf end
local function qkey(q) return P .. 'q:' .. q end
local function tkey(a) return P .. 't:' .. a end
local function gkey(q) return P .. 'g:' .. q end
local function okey(c) return P .. 'o:' .. c end
local function fmt(x) return string.format('%020.6f', x) end
local function skills_of(a)
  local flat = redis.call('HGETALL', akey(a) .. ':sk')
  local t = {{}}
  for i = 1, #flat, 2 do t[flat[i]] = tonumber(flat[i + 1]) end
  return t
end
local function queues_of(a)
  local flat = redis.call('HGETALL', akey(a) .. ':qs')
  local t = {{}}
  for i = 1, #flat, 2 do t[#t + 1] = {{flat[i], flat[i + 1]}} end
  return t
end
local function holding(st)
  return st == 'assigned' or st == 'on_call' or st == 'on_hold' or st == 'busy'
end
local function profiles(q) return redis.call('SMEMBERS', qkey(q) .. ':pf') end
local function aging(q) return tonumber(redis.call('HGET', qkey(q), 'aging') or '0') end
local function satisfies(sk, pf)
  if pf == '' then return true end
  for s, l in string.gmatch(pf, '([^,=]+)=(%d+)') do
    local have = sk[s]
    if have == nil or have < tonumber(l) then return false end
  end
  return true
end
local function split(s)
  local t, i = {{}}, 1
  while true do
    local j = string.find(s, '|', i, true)
    if not j then t[#t + 1] = string.sub(s, i) return t end
    t[#t + 1] = string.sub(s, i, j - 1)
    i = j + 1
  end
end
local function agent_of(member) return string.match(member, '^[^|]*|[^|]*|(.*)$') end
-- A READY agent's member: "<ready since>|<ready order>|<agent>" (ties: who became ready first).
local function amember(a)
  local f = redis.call('HMGET', akey(a), 'idle', 'iseq')
  return fmt(tonumber(f[1])) .. '|' .. string.format('%012d', tonumber(f[2])) .. '|' .. a
end
local function set_idle(a, now)
  redis.call('HSET', akey(a), 'idle', now, 'iseq', redis.call('INCR', P .. 'seq:idle'))
end
local function total_level(q, sk)
  local t = 0
  for s in string.gmatch(redis.call('HGET', qkey(q), 'skills') or '', '[^,]+') do
    t = t + (sk[s] or 5)
  end
  return t
end
-- least_calls: the first decision of a new site-local day re-keys the queue's READY agents
-- to 0 calls (ties then go by idle time, the member's prefix), as the core does at midnight.
local function roll_day(q)
  if redis.call('HGET', qkey(q), 'day') == DAY then return end
  redis.call('HSET', qkey(q), 'day', DAY)
  for _, pen in ipairs(redis.call('ZRANGE', qkey(q) .. ':pen', 0, -1)) do
    for _, pf in ipairs(profiles(q)) do
      for _, m in ipairs(redis.call('ZRANGE', rkey(q, pf, pen), 0, -1)) do
        redis.call('ZADD', rkey(q, pf, pen), 0, m)
        if pf == '' then redis.call('HSET', akey(agent_of(m)) .. ':ks', q, 0) end
      end
    end
  end
end
-- A READY agent's score in one queue: the queue strategy's primary key (acd/routing.py).
local function agent_score(a, q, sk, idle)
  local f = redis.call('HMGET', qkey(q), 'strat', 'rr_r', 'rr_p', 'wr')
  local st = f[1]
  if st == 'least_calls' then
    roll_day(q)
    local nc = akey(a) .. ':nc'
    if redis.call('HGET', nc, '_d') ~= DAY then return 0 end
    return tonumber(redis.call('HGET', nc, q) or '0')
  elseif st == 'most_skilled' then
    return -total_level(q, sk)
  elseif st == 'round_robin' then
    local pos = tonumber(redis.call('HGET', P .. 'pos', a))
    local r, last = tonumber(f[2] or '0'), tonumber(f[3] or '-1')
    if pos <= last then r = r + 1 end
    return r * RR + pos
  elseif st == 'weighted_random' then
    local u = DRAWS[q]
    if u == nil then u = 1 end  -- no draw passed (an offer taken back after a re-login)
    return tonumber(f[4] or '0') + u / math.max(1, total_level(q, sk))
  end
  return idle
end
-- Index a READY agent in the READY sets of its queues (the profiles it meets). With `keep`,
-- each queue's last score (a:<a>:ks) is reused: the agent gets its old place back.
local function index_agent(a, keep)
  local sk = skills_of(a)
  local idle = tonumber(redis.call('HGET', akey(a), 'idle'))
  local m = amember(a)
  local rk = {{}}
  for _, qp in ipairs(queues_of(a)) do
    local q = qp[1]
    local score = nil
    if keep then score = redis.call('HGET', akey(a) .. ':ks', q) end
    if score == nil or score == false then score = agent_score(a, q, sk, idle) end
    redis.call('HSET', akey(a) .. ':ks', q, score)
    for _, pf in ipairs(profiles(q)) do
      if satisfies(sk, pf) then
        redis.call('ZADD', rkey(q, pf, qp[2]), score, m)
        rk[#rk + 1] = q .. '|' .. pf .. '|' .. qp[2]
      end
    end
  end
  redis.call('HSET', akey(a), 'rk', table.concat(rk, '|'))
end
local function ready_sets(a)
  local rk = redis.call('HGET', akey(a), 'rk')
  local t = {{}}
  if not rk or rk == '' then return t end
  local f = split(rk)
  for i = 1, #f, 3 do t[#t + 1] = {{f[i], f[i + 1], f[i + 2]}} end
  return t
end
local function unindex_agent(a)
  if redis.call('HGET', akey(a), 'idle') then
    local m = amember(a)
    for _, e in ipairs(ready_sets(a)) do redis.call('ZREM', rkey(e[1], e[2], e[3]), m) end
  end
  redis.call('HDEL', akey(a), 'rk')
end
-- A profile seen for the first time in a queue: fill its READY sets once from the queue's
-- READY agents (the "" profile's sets hold them all).
local function register_profile(q, pf)
  if redis.call('SADD', qkey(q) .. ':pf', pf) == 0 or pf == '' then return end
  for _, pen in ipairs(redis.call('ZRANGE', qkey(q) .. ':pen', 0, -1)) do
    local base = redis.call('ZRANGE', rkey(q, '', pen), 0, -1, 'WITHSCORES')
    for i = 1, #base, 2 do
      local a = agent_of(base[i])
      if satisfies(skills_of(a), pf) then
        redis.call('ZADD', rkey(q, pf, pen), base[i + 1], base[i])
        local rk = redis.call('HGET', akey(a), 'rk')
        local entry = q .. '|' .. pf .. '|' .. pen
        if rk and rk ~= '' then entry = rk .. '|' .. entry end
        redis.call('HSET', akey(a), 'rk', entry)
      end
    end
  end
end
-- Put a call (not assigned) in its waiting set: its target's, or its queue's and profile's.
local function place_call(c)
  local f = redis.call('HMGET', ckey(c), 'q', 'pf', 'tg', 'm', 'sc')
  local zk
  if f[3] ~= '' then zk = tkey(f[3]) else
    register_profile(f[1], f[2])
    zk = wkey(f[1], f[2])
  end
  redis.call('ZADD', zk, f[5], f[4])
  redis.call('HSET', ckey(c), 'st', 'waiting', 'zk', zk)
  redis.call('HDEL', ckey(c), 'agent', 'at', 'aseq')
  redis.call('HINCRBY', qkey(f[1]), 'n', 1)
end
local function unplace_call(c)
  local f = redis.call('HMGET', ckey(c), 'zk', 'm', 'q')
  redis.call('ZREM', f[1], f[2])
  redis.call('HINCRBY', qkey(f[3]), 'n', -1)
end
-- Assign the call to the agent; `lq`: the lending queue the agent is borrowed from (its
-- strategy's pointer moves, as the core's), else the call's queue.
local function assign(a, c, now, lq)
  local ck = ckey(c)
  unplace_call(c)
  local f = redis.call('HMGET', ck, 'q', 'tg', 'sc', 'm')
  local q = f[1]
  local seq = redis.call('INCR', P .. 'seq:asg')
  redis.call('HSET', ck, 'st', 'assigned', 'agent', a, 'at', now, 'aseq', seq)
  if f[2] == '' then
    redis.call('ZADD', gkey(q), f[3], f[4])
    local pq = lq or q
    local strat = redis.call('HGET', qkey(pq), 'strat')
    local s = tonumber(redis.call('HGET', akey(a) .. ':ks', pq) or 'nil')
    if s ~= nil and strat == 'round_robin' then
      local r = math.floor(s / RR)
      redis.call('HSET', qkey(pq), 'rr_r', r, 'rr_p', s - r * RR)
    elseif s ~= nil and strat == 'weighted_random' then
      local clock = tonumber(redis.call('HGET', qkey(pq), 'wr') or '0')
      if s > clock then redis.call('HSET', qkey(pq), 'wr', string.format('%.17g', s)) end
    end
  end
  unindex_agent(a)
  redis.call('HSET', akey(a), 'st', 'assigned', 'since', now, 'call', c)
  redis.call('HDEL', akey(a), 'reason')
  return {{c, a, q, seq}}
end
-- "ring_all": one call offered to several agents at once (o:<c>: the agents, in offer order).
local function assign_group(agents, c, now)
  local first = assign(agents[1], c, now)
  if #agents == 1 then return {{first}} end
  local out = {{first}}
  redis.call('ZADD', okey(c), 1, agents[1])
  for i = 2, #agents do
    local a = agents[i]
    unindex_agent(a)
    redis.call('HSET', akey(a), 'st', 'assigned', 'since', now, 'call', c)
    redis.call('HDEL', akey(a), 'reason')
    redis.call('ZADD', okey(c), i, a)
    out[i] = {{c, a, first[3], first[4]}}
  end
  return out
end
-- The agents a ringing call is offered to, in offer order.
local function ringing_at(c)
  if redis.call('EXISTS', okey(c)) == 1 then return redis.call('ZRANGE', okey(c), 0, -1) end
  return {{redis.call('HGET', ckey(c), 'agent')}}
end
-- An agent whose offer was taken back is READY again at their old place.
local function give_back(a, now)
  redis.call('HDEL', akey(a), 'call', 'reason')
  redis.call('HSET', akey(a), 'st', 'ready', 'since', now)
  index_agent(a, true)
end
-- The agent's directed calls become ordinary calls of their queues (the agent left).
local function release_directed(a)
  local out = {{}}
  for _, m in ipairs(redis.call('ZRANGE', tkey(a), 0, -1)) do
    local c = string.match(m, '^[^|]*|[^|]*|(.*)$')
    redis.call('ZREM', tkey(a), m)
    redis.call('HINCRBY', qkey(redis.call('HGET', ckey(c), 'q')), 'n', -1)
    redis.call('HSET', ckey(c), 'tg', '')
    place_call(c)
    out[#out + 1] = c
  end
  return out
end
local function drop_agent(a)
  for _, qp in ipairs(queues_of(a)) do redis.call('SREM', qkey(qp[1]) .. ':ag', a) end
  redis.call('DEL', akey(a), akey(a) .. ':sk', akey(a) .. ':qs', akey(a) .. ':ks',
    akey(a) .. ':nc')
  return release_directed(a)
end
-- An assigned, unanswered call leaves its agent (ring set) and waits again at its place; a
-- call directed to that agent becomes an ordinary call.
local function unassign(c, a)
  local f = redis.call('HMGET', ckey(c), 'q', 'tg', 'm')
  redis.call('ZREM', gkey(f[1]), f[3])
  if f[2] == a then redis.call('HSET', ckey(c), 'tg', '') end
  redis.call('HDEL', akey(a), 'call')
end
-- The best call for a READY agent: its first directed call (as the core: directed calls
-- first), else the heads of the waiting sets of its queues and the profiles it meets (the
-- READY sets it is in, field 'rk'), by effective priority p + w (now - e), then e, then order.
-- The effective priority comes from the score: w (now - score) when w > 0, else -score.
-- Replies call, eff, e, seq, directed (nil when there is none).
local function rank_of(member, score, w)
  local es, ss, c = string.match(member, '^([^|]*)|([^|]*)|(.*)$')
  local eff
  if w > 0 then eff = w * (NOW - score) else eff = -score end
  return c, eff, tonumber(es), tonumber(ss)
end
local function call_rank(c)
  local f = redis.call('HMGET', ckey(c), 'm', 'sc', 'q')
  local _, eff, e, seq = rank_of(f[1], tonumber(f[2]), aging(f[3]))
  return eff, e, seq
end
local function best_call(a)
  local direct = redis.call('ZRANGE', tkey(a), 0, 0)
  if #direct > 0 then
    return string.match(direct[1], '^[^|]*|[^|]*|(.*)$'), 0, 0, 0, true
  end
  local best, beff, be, bseq
  local weights = {{}}
  for _, s in ipairs(ready_sets(a)) do
    local w = weights[s[1]]
    if w == nil then
      w = aging(s[1])
      weights[s[1]] = w
    end
    local head = redis.call('ZRANGE', wkey(s[1], s[2]), 0, 0, 'WITHSCORES')
    if #head > 0 then
      local c, eff, e, seq = rank_of(head[1], tonumber(head[2]), w)
      if best == nil or eff > beff or (eff == beff and (e < be or (e == be and seq < bseq))) then
        best, beff, be, bseq = c, eff, e, seq
      end
    end
  end
  return best, beff, be, bseq, false
end
-- The READY agents a waiting call goes to: the head of the READY set of the call's queue and
-- profile, lowest penalty first (every agent of that set for "ring_all"; its target, if
-- directed); none: an empty table.
local function best_agents(c)
  local f = redis.call('HMGET', ckey(c), 'st', 'q', 'pf', 'tg')
  if f[1] ~= 'waiting' then return {{}} end
  if f[4] ~= '' then
    if redis.call('HGET', akey(f[4]), 'st') == 'ready' then return {{f[4]}} end
    return {{}}
  end
  local strat = redis.call('HGET', qkey(f[2]), 'strat')
  if strat == 'least_calls' then roll_day(f[2]) end
  for _, pen in ipairs(redis.call('ZRANGE', qkey(f[2]) .. ':pen', 0, -1)) do
    local stop = 0
    if strat == 'ring_all' then stop = -1 end
    local head = redis.call('ZRANGE', rkey(f[2], f[3], pen), 0, stop)
    if #head > 0 then
      local out = {{}}
      for i, m in ipairs(head) do out[i] = agent_of(m) end
      return out
    end
  end
  return {{}}
end
-- Service level of a lending queue (answers within its threshold / answers and abandons,
-- over its window; sl:<q> all outcomes, slm:<q> those met, score = time).
local function record_outcome(q, met)
  local b = redis.call('HGET', qkey(q), 'borrowers')
  if not b or b == '' then return end  -- only a lender's service level is looked at
  local n = redis.call('INCR', P .. 'seq:sl')
  redis.call('ZADD', P .. 'sl:' .. q, NOW, n)
  if met then redis.call('ZADD', P .. 'slm:' .. q, NOW, n) end
end
local function sl_met(q)
  local f = redis.call('HMGET', qkey(q), 'slw', 'slt')
  local cut = NOW - tonumber(f[1])
  redis.call('ZREMRANGEBYSCORE', P .. 'sl:' .. q, '-inf', cut)
  redis.call('ZREMRANGEBYSCORE', P .. 'slm:' .. q, '-inf', cut)
  local n = redis.call('ZCARD', P .. 'sl:' .. q)
  if n == 0 then return true end
  return redis.call('ZCARD', P .. 'slm:' .. q) / n >= tonumber(f[2])
end
-- A queue's first waiting (ordinary) call and its rank, or nil.
local function head_call(q)
  local w = aging(q)
  local best, beff, be, bseq
  for _, pf in ipairs(profiles(q)) do
    local head = redis.call('ZRANGE', wkey(q, pf), 0, 0, 'WITHSCORES')
    if #head > 0 then
      local c, eff, e, seq = rank_of(head[1], tonumber(head[2]), w)
      if best == nil or eff > beff or (eff == beff and (e < be or (e == be and seq < bseq))) then
        best, beff, be, bseq = c, eff, e, seq
      end
    end
  end
  return best, beff, be, bseq
end
-- Borrowing: the best READY agent of the queues q borrows from whose service level is met
-- (lowest penalty, then the lender's order), and that lender; nil if none.
local function lender_agent(q)
  local lend = redis.call('HGET', qkey(q), 'lend')
  if not lend or lend == '' then return nil end
  local best, bpen, bscore, bm, bl
  for l in string.gmatch(lend, '[^,]+') do
    if sl_met(l) then
      for _, pen in ipairs(redis.call('ZRANGE', qkey(l) .. ':pen', 0, -1)) do
        local head = redis.call('ZRANGE', rkey(l, '', pen), 0, 0, 'WITHSCORES')
        if #head > 0 then
          local p, sc = tonumber(pen), tonumber(head[2])
          if best == nil or p < bpen or (p == bpen and (sc < bscore or
              (sc == bscore and head[1] < bm))) then
            best, bpen, bscore, bm, bl = agent_of(head[1]), p, sc, head[1], l
          end
          break
        end
      end
    end
  end
  return best, bl
end
-- Borrowing seen from a READY agent: the best first call of the queues that borrow from the
-- agent's queues (those it does not serve itself) while that lender's service level is met.
local function borrowed_call(a)
  local mine = {{}}
  local qs = queues_of(a)
  for _, qp in ipairs(qs) do mine[qp[1]] = true end
  local best, beff, be, bseq, bl
  for _, qp in ipairs(qs) do
    local bs = redis.call('HGET', qkey(qp[1]), 'borrowers')
    if bs and bs ~= '' and sl_met(qp[1]) then
      for b in string.gmatch(bs, '[^,]+') do
        if not mine[b] then
          local c, eff, e, seq = head_call(b)
          if c ~= nil and (best == nil or eff > beff or
              (eff == beff and (e < be or (e == be and seq < bseq)))) then
            best, beff, be, bseq, bl = c, eff, e, seq, qp[1]
          end
        end
      end
    end
  end
  return best, beff, be, bseq, bl
end
-- An abandon (ARGV[5] '1': count it) of a call that waited at least the short-abandon time.
local function abandoned(c)
  if ARGV[5] ~= '1' then return end
  local f = redis.call('HMGET', ckey(c), 'q', 'e')
  if NOW - tonumber(f[2]) >= tonumber(redis.call('HGET', qkey(f[1]), 'sab') or '5') then
    record_outcome(f[1], false)
  end
end
-- Offer the waiting call to its best agents (or, none being READY, the queue's first call to
-- a borrowed agent); append the assignments to `out`.
local function serve_call(c, out)
  local agents = best_agents(c)
  if #agents > 0 then
    for _, x in ipairs(assign_group(agents, c, NOW)) do out[#out + 1] = x end
    return
  end
  local f = redis.call('HMGET', ckey(c), 'st', 'q', 'tg')
  if f[1] ~= 'waiting' or f[3] ~= '' then return end
  local a, l = lender_agent(f[2])
  if a == nil then return end
  out[#out + 1] = assign(a, head_call(f[2]), NOW, l)
end
-- A READY agent takes the best call for them; a "ring_all" call goes to every READY agent of
-- the lowest penalty who may take it (the agent among them), and the agent tries again if left
-- out. Appends the assignments to `out`.
local function serve_agent(a, out)
  while redis.call('HGET', akey(a), 'st') == 'ready' do
    local x, xeff, xe, xseq, directed = best_call(a)
    if not directed then
      local y, yeff, ye, yseq, l = borrowed_call(a)
      if y ~= nil and (x == nil or yeff > xeff or
          (yeff == xeff and (ye < xe or (ye == xe and yseq < xseq)))) then
        out[#out + 1] = assign(a, y, NOW, l)
        return
      end
    end
    if x == nil then return end
    local q = redis.call('HGET', ckey(x), 'q')
    if not directed and redis.call('HGET', qkey(q), 'strat') == 'ring_all' then
      serve_call(x, out)
    else
      out[#out + 1] = assign(a, x, NOW)
    end
  end
end
"""
