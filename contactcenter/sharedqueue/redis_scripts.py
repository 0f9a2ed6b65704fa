"""The Lua scripts of RedisSharedQueues (redis.py), one per operation, each run alone by Redis.
Every script starts with `LIB` and gets the same first four arguments:

  ARGV[1] key prefix P, ARGV[2] now, ARGV[3] the site-local day's start ("least_calls"
  counts only calls answered since then), ARGV[4] JSON {queue: u}: unit exponential variates
  drawn by the node for the "weighted_random" queues it may index the agent in (a script
  draws nothing itself, so it stays deterministic).

The operation's own arguments follow from ARGV[5]. The key layout is in redis.py.
"""

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
local function agent_of(member) return string.match(member, '^[^|]*|(.*)$') end
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
  local m = fmt(idle) .. '|' .. a
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
  local idle = redis.call('HGET', akey(a), 'idle')
  if idle then
    local m = fmt(tonumber(idle)) .. '|' .. a
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
local function assign(a, c, now)
  local ck = ckey(c)
  unplace_call(c)
  local f = redis.call('HMGET', ck, 'q', 'tg', 'sc', 'm')
  local q = f[1]
  local seq = redis.call('INCR', P .. 'seq:asg')
  redis.call('HSET', ck, 'st', 'assigned', 'agent', a, 'at', now, 'aseq', seq)
  if f[2] == '' then
    redis.call('ZADD', gkey(q), f[3], f[4])
    local strat = redis.call('HGET', qkey(q), 'strat')
    local s = tonumber(redis.call('HGET', akey(a) .. ':ks', q) or 'nil')
    if s ~= nil and strat == 'round_robin' then
      local r = math.floor(s / RR)
      redis.call('HSET', qkey(q), 'rr_r', r, 'rr_p', s - r * RR)
    elseif s ~= nil and strat == 'weighted_random' then
      local clock = tonumber(redis.call('HGET', qkey(q), 'wr') or '0')
      if s > clock then redis.call('HSET', qkey(q), 'wr', string.format('%.17g', s)) end
    end
  end
  unindex_agent(a)
  redis.call('HSET', akey(a), 'st', 'assigned', 'since', now, 'call', c)
  redis.call('HDEL', akey(a), 'reason')
  return {{c, a, q, seq}}
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
-- The best READY agent for a waiting call: the head of the READY set of the call's queue and
-- profile, lowest penalty first (its target, if directed). nil if none.
local function best_agent(c)
  local f = redis.call('HMGET', ckey(c), 'st', 'q', 'pf', 'tg')
  if f[1] ~= 'waiting' then return nil end
  if f[4] ~= '' then
    if redis.call('HGET', akey(f[4]), 'st') == 'ready' then return f[4] end
    return nil
  end
  if redis.call('HGET', qkey(f[2]), 'strat') == 'least_calls' then roll_day(f[2]) end
  for _, pen in ipairs(redis.call('ZRANGE', qkey(f[2]) .. ':pen', 0, -1)) do
    local head = redis.call('ZRANGE', rkey(f[2], f[3], pen), 0, 0)
    if #head > 0 then return agent_of(head[1]) end
  end
  return nil
end
"""

# KEYS: queue. ARGV: w, strategy, skills "a,b". A new weight is refused (0) while calls wait.
CONFIGURE = """
local q = KEYS[1]
local old = tonumber(redis.call('HGET', qkey(q), 'aging') or '0')
if old ~= tonumber(ARGV[5]) and tonumber(redis.call('HGET', qkey(q), 'n') or '0') > 0 then
  return 0
end
redis.call('HSET', qkey(q), 'aging', ARGV[5], 'strat', ARGV[6], 'skills', ARGV[7])
return 1
"""

# KEYS: call. ARGV: queue, priority, e, fmt e, profile, target, entered, step.
ENQUEUE = """
local c = KEYS[1]
if redis.call('EXISTS', ckey(c)) == 1 then return 0 end
local q, p, e, tg = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[10]
if tg ~= '' and not redis.call('HGET', akey(tg), 'st') then tg = '' end
local seq = redis.call('INCR', P .. 'seq:call')
local m = ARGV[8] .. '|' .. string.format('%012d', seq) .. '|' .. c
local w = aging(q)
local score
if w > 0 then score = e - p / w else score = -p end
redis.call('HSET', ckey(c), 'q', q, 'p', ARGV[6], 'e', ARGV[7], 'pf', ARGV[9], 'tg', tg,
  'm', m, 'sc', score, 'seq', seq, 'ent', ARGV[11], 'step', ARGV[12])
place_call(c)
return 1
"""

# KEYS: call.
REMOVE = """
local f = redis.call('HMGET', ckey(KEYS[1]), 'st')
if f[1] ~= 'waiting' then return 0 end
unplace_call(KEYS[1])
redis.call('DEL', ckey(KEYS[1]))
return 1
"""

# KEYS: agent. ARGV: skills JSON [[skill, level]], queues JSON [[queue, pen]]. A logged-in
# agent keeps its state (and, when READY, its idle time; its keys are computed afresh, the
# last ones stay for an offer taken back).
LOGIN = """
local a = KEYS[1]
local st = redis.call('HGET', akey(a), 'st')
if st == 'ready' then unindex_agent(a) end
for _, qp in ipairs(queues_of(a)) do redis.call('SREM', qkey(qp[1]) .. ':ag', a) end
redis.call('DEL', akey(a) .. ':sk', akey(a) .. ':qs')
for _, sl in ipairs(cjson.decode(ARGV[5])) do redis.call('HSET', akey(a) .. ':sk', sl[1], sl[2]) end
for _, qp in ipairs(cjson.decode(ARGV[6])) do
  redis.call('HSET', akey(a) .. ':qs', qp[1], qp[2])
  redis.call('SADD', qkey(qp[1]) .. ':pf', '')
  redis.call('SADD', qkey(qp[1]) .. ':ag', a)
  redis.call('ZADD', qkey(qp[1]) .. ':pen', qp[2], qp[2])
end
if redis.call('HEXISTS', P .. 'pos', a) == 0 then
  redis.call('HSET', P .. 'pos', a, redis.call('INCR', P .. 'seq:pos') - 1)
end
if st then
  if st == 'ready' then index_agent(a, false) end
  return 'updated'
end
redis.call('HSET', akey(a), 'st', 'not_ready', 'since', ARGV[2], 'reason', 'login')
return 'new'
"""

# KEYS: agent. Replies {'ok', released call...}.
LOGOUT = """
local a = KEYS[1]
local st = redis.call('HGET', akey(a), 'st')
if not st then return {'unknown'} end
if holding(st) then return {'state', st} end
if st == 'ready' then unindex_agent(a) end
local out = {'ok'}
for _, c in ipairs(drop_agent(a)) do out[#out + 1] = c end
return out
"""

# KEYS: agent. ARGV: op (ready | not_ready | busy), reason ('' for none).
SET_STATE = """
local a, op = KEYS[1], ARGV[5]
local st = redis.call('HGET', akey(a), 'st')
if not st then return {'unknown'} end
if holding(st) then return {'state', st} end
if op == 'ready' then
  if st == 'ready' then return {'ok'} end
  redis.call('HSET', akey(a), 'st', 'ready', 'since', ARGV[2], 'idle', ARGV[2])
  redis.call('HDEL', akey(a), 'reason', 'call')
  index_agent(a, false)
  return {'ok'}
end
if st == 'ready' then unindex_agent(a) end
redis.call('HSET', akey(a), 'st', op, 'since', ARGV[2])
redis.call('HDEL', akey(a), 'call')
if op == 'not_ready' and ARGV[6] ~= '' then
  redis.call('HSET', akey(a), 'reason', ARGV[6])
else
  redis.call('HDEL', akey(a), 'reason')
end
return {'ok'}
"""

# KEYS: agent. ARGV: '1' to go ready. In wrap-up the agent keeps the call's id.
FINISH = """
local a = KEYS[1]
local f = redis.call('HMGET', akey(a), 'st', 'call')
if not f[1] then return {'unknown'} end
if not holding(f[1]) then return {'state', f[1]} end
if f[2] then redis.call('DEL', ckey(f[2])) end
redis.call('HDEL', akey(a), 'reason')
if ARGV[5] == '1' then
  redis.call('HDEL', akey(a), 'call')
  redis.call('HSET', akey(a), 'st', 'ready', 'since', ARGV[2], 'idle', ARGV[2])
  index_agent(a, false)
else
  redis.call('HSET', akey(a), 'st', 'wrap_up', 'since', ARGV[2])
end
return {'ok', f[2] or ''}
"""

# KEYS: call. ARGV: reason, agent ('' for any), RONA limit ('' : not a RONA, no counting;
# '0': count, never log out). Replies false, or {agent, 'not_ready' | 'logged_out', released}.
REQUEUE = """
local c = KEYS[1]
local f = redis.call('HMGET', ckey(c), 'st', 'agent')
if f[1] ~= 'assigned' or (ARGV[6] ~= '' and f[2] ~= ARGV[6]) then return false end
local a = f[2]
unassign(c, a)
place_call(c)
local out = {a, 'not_ready'}
if ARGV[7] ~= '' then
  local n = redis.call('HINCRBY', akey(a), 'ronas', 1)
  local limit = tonumber(ARGV[7])
  if limit > 0 and n >= limit then
    out[2] = 'logged_out'
    for _, r in ipairs(drop_agent(a)) do out[#out + 1] = r end
    return out
  end
end
redis.call('HSET', akey(a), 'st', 'not_ready', 'since', ARGV[2], 'reason', ARGV[5])
return out
"""

# KEYS: call. ARGV: agent, EWT window (s). Replies false, or {queue, step, e}. Counts the
# answer (least_calls, today), resets the agent's RONA count, records it for the EWT.
ANSWER = f"""
local c, a = KEYS[1], ARGV[5]
local f = redis.call('HMGET', akey(a), 'st', 'call')
if f[1] ~= 'assigned' or f[2] ~= c then return false end
redis.call('HSET', akey(a), 'st', 'on_call', 'since', ARGV[2], 'ronas', 0)
redis.call('HSET', ckey(c), 'st', 'answered')
local g = redis.call('HMGET', ckey(c), 'q', 'm', 'step', 'e')
local q = g[1]
redis.call('ZREM', gkey(q), g[2])
local nc = akey(a) .. ':nc'
if redis.call('HGET', nc, '_d') ~= DAY then
  redis.call('DEL', nc)
  redis.call('HSET', nc, '_d', DAY)
end
redis.call('HINCRBY', nc, q, 1)
local ans = P .. 'ans:' .. q
redis.call('ZADD', ans, NOW, redis.call('INCR', P .. 'seq:ans'))
redis.call('ZREMRANGEBYRANK', ans, 0, -{MAX_ANSWERS + 1})
redis.call('ZREMRANGEBYSCORE', ans, '-inf', NOW - tonumber(ARGV[6]))
return {{q, g[3], g[4]}}
"""

# KEYS: call. The caller of an assigned, unanswered call left: the agent is READY again at
# its old place.
WITHDRAW = """
local c = KEYS[1]
local f = redis.call('HMGET', ckey(c), 'st', 'agent', 'q', 'm')
if f[1] ~= 'assigned' then return false end
redis.call('ZREM', gkey(f[3]), f[4])
redis.call('DEL', ckey(c))
redis.call('HDEL', akey(f[2]), 'call', 'reason')
redis.call('HSET', akey(f[2]), 'st', 'ready', 'since', ARGV[2])
index_agent(f[2], true)
return f[2]
"""

# KEYS: agent. The best call for a READY agent (best_call).
ASSIGN_FOR_AGENT = """
local a = KEYS[1]
if redis.call('HGET', akey(a), 'st') ~= 'ready' then return false end
local c = best_call(a)
if c == nil then return false end
return assign(a, c, ARGV[2])
"""

# KEYS: call. The best READY agent for a waiting call (best_agent).
ASSIGN_FOR_CALL = """
local a = best_agent(KEYS[1])
if a == nil then return false end
return assign(a, KEYS[1], ARGV[2])
"""

# KEYS: call. ARGV: agent. After a move that withdrew the agent's offer: the agent is the one
# READY agent who may take calls that waited, and the moved call may take any READY agent. As
# the core's global pass: whichever of the agent's best call and the moved call ranks first
# (a directed call first) is served first, then the other. Replies the assignments made.
ASSIGN_AFTER_MOVE = """
local c, a = KEYS[1], ARGV[5]
local out = {}
if redis.call('HGET', akey(a), 'st') == 'ready' then
  local x, xeff, xe, xseq, directed = best_call(a)
  if x ~= nil and x ~= c and redis.call('HGET', ckey(c), 'st') == 'waiting' and not directed then
    local ceff, ce, cseq = call_rank(c)
    if not (xeff > ceff or (xeff == ceff and (xe < ce or (xe == ce and xseq < cseq)))) then
      x = nil  -- the moved call ranks first
    end
  end
  if x ~= nil and x ~= c then out[#out + 1] = assign(a, x, ARGV[2]) end
end
local b = best_agent(c)
if b ~= nil then out[#out + 1] = assign(b, c, ARGV[2]) end
if redis.call('HGET', akey(a), 'st') == 'ready' then
  local y = best_call(a)
  if y ~= nil then out[#out + 1] = assign(a, y, ARGV[2]) end
end
return out
"""

# KEYS: call. ARGV: to queue, profile there, target ('' none), step there, only-if queue
# ('' any), only-if entered ('' any). A waiting or ringing call moves (a ringing offer is
# withdrawn: the agent is READY again at its old place), keeping e, priority and order.
# Replies {'gone'} | {'target'} | {'ok', from queue, withdrawn agent or '', old step, entered}.
MOVE = """
local c = KEYS[1]
local f = redis.call('HMGET', ckey(c), 'st', 'agent', 'q', 'step', 'ent', 'p', 'e')
if not f[1] or f[1] == 'answered' then return {'gone'} end
if ARGV[9] ~= '' and f[3] ~= ARGV[9] then return {'gone'} end
if ARGV[10] ~= '' and tonumber(f[5]) ~= tonumber(ARGV[10]) then return {'gone'} end
local tg = ARGV[7]
if tg ~= '' and not redis.call('HGET', akey(tg), 'st') then return {'target'} end
local withdrawn = ''
if f[1] == 'assigned' then
  local a = f[2]
  unassign(c, a)
  redis.call('HDEL', akey(a), 'reason')
  redis.call('HSET', akey(a), 'st', 'ready', 'since', ARGV[2])
  withdrawn = a
else
  unplace_call(c)
end
local to = ARGV[5]
redis.call('HSET', ckey(c), 'tg', tg)
if to ~= f[3] then
  local w = aging(to)
  local score
  if w > 0 then score = tonumber(f[7]) - tonumber(f[6]) / w else score = -tonumber(f[6]) end
  redis.call('HSET', ckey(c), 'q', to, 'pf', ARGV[6], 'step', ARGV[8], 'ent', ARGV[2],
    'sc', score)
end
place_call(c)
if withdrawn ~= '' then index_agent(withdrawn, true) end
return {'ok', f[3], withdrawn, f[4], f[5]}
"""

# KEYS: call. ARGV: queue, entered, new profile, step. Widening: the call (waiting or ringing)
# of that stint in the queue gets the lower requirement, keeping its place.
REPROFILE = """
local c = KEYS[1]
local f = redis.call('HMGET', ckey(c), 'st', 'q', 'ent', 'tg')
if not f[1] or f[1] == 'answered' or f[2] ~= ARGV[5] then return 0 end
if tonumber(f[3]) ~= tonumber(ARGV[6]) then return 0 end
if f[1] == 'waiting' then
  unplace_call(c)
  redis.call('HSET', ckey(c), 'pf', ARGV[7], 'step', ARGV[8])
  place_call(c)
else
  redis.call('HSET', ckey(c), 'pf', ARGV[7], 'step', ARGV[8])
end
return 1
"""

# KEYS: agent. ARGV: call, '1' hold / '0' resume. Replies 'ok', 'same' or 'no'.
HOLD = """
local f = redis.call('HMGET', akey(KEYS[1]), 'st', 'call')
if (f[1] ~= 'on_call' and f[1] ~= 'on_hold') or f[2] ~= ARGV[5] then return 'no' end
local want = 'on_call'
if ARGV[6] == '1' then want = 'on_hold' end
if f[1] == want then return 'same' end
redis.call('HSET', akey(KEYS[1]), 'st', want, 'since', ARGV[2])
return 'ok'
"""

# KEYS: call. ARGV: EWT window (s). Replies false (not waiting or ringing), or {position,
# ringing 0/1, queue, answers in the window, first, last, agents serving the queue}.
WAIT_INFO = """
local c = KEYS[1]
local f = redis.call('HMGET', ckey(c), 'st', 'q', 'sc', 'm', 'tg', 'agent')
if not f[1] or f[1] == 'answered' then return false end
local ringing = 0
if f[1] == 'assigned' then
  ringing = 1
end
local q, sc, m = f[2], f[3], f[4]
local function ahead(zk)
  if redis.call('ZSCORE', zk, m) then return redis.call('ZRANK', zk, m) end
  redis.call('ZADD', zk, sc, m)
  local r = redis.call('ZRANK', zk, m)
  redis.call('ZREM', zk, m)
  return r
end
local pos = 1
if f[5] ~= '' then
  -- a directed call: its agent's directed calls of the same queue ahead of it (few), and the
  -- one ringing at that agent if it is such a call and ahead
  local tg = f[5]
  local r = ahead(tkey(tg))
  if r > 0 then
    for _, x in ipairs(redis.call('ZRANGE', tkey(tg), 0, r - 1)) do
      local xc = string.match(x, '^[^|]*|[^|]*|(.*)$')
      if redis.call('HGET', ckey(xc), 'q') == q then pos = pos + 1 end
    end
  end
  local g = redis.call('HMGET', akey(tg), 'st', 'call')
  if g[1] == 'assigned' and g[2] ~= c then
    local h = redis.call('HMGET', ckey(g[2]), 'q', 'tg', 'sc', 'm')
    local hs, ms = tonumber(h[3]), tonumber(sc)
    if h[1] == q and h[2] == tg and (hs < ms or (hs == ms and h[4] < m)) then pos = pos + 1 end
  end
else
  for _, pf in ipairs(profiles(q)) do pos = pos + ahead(wkey(q, pf)) end
  pos = pos + ahead(gkey(q))
end
local ans = P .. 'ans:' .. q
redis.call('ZREMRANGEBYSCORE', ans, '-inf', NOW - tonumber(ARGV[5]))
local n = redis.call('ZCARD', ans)
local first, last = '0', '0'
if n > 0 then
  first = redis.call('ZRANGE', ans, 0, 0, 'WITHSCORES')[2]
  last = redis.call('ZRANGE', ans, -1, -1, 'WITHSCORES')[2]
end
return {pos, ringing, q, n, first, last, redis.call('SCARD', qkey(q) .. ':ag')}
"""
