"""The Lua scripts of RedisSharedQueues (redis.py), one per operation, each run alone by Redis.
Every script starts with `LIB` and gets the same first four arguments:

  ARGV[1] key prefix P, ARGV[2] now, ARGV[3] the site-local day's start ("least_calls"
  counts only calls answered since then), ARGV[4] JSON {queue: u}: unit exponential variates
  drawn by the node for the "weighted_random" queues it may index the agent in (a script
  draws nothing itself, so it stays deterministic).

The operation's own arguments follow from ARGV[5]. The key layout is in redis.py.
"""

from __future__ import annotations

from contactcenter.sharedqueue.redis_lua import LIB, MAX_ANSWERS, RR

__all__ = ["LIB", "MAX_ANSWERS", "RR"]

# KEYS: queue. ARGV: w, strategy, skills "a,b", lenders "q,q", borrowers "q,q", SL threshold,
# target, window, short abandon (s). A new weight is refused (0) while calls wait.
CONFIGURE = """
local q = KEYS[1]
local old = tonumber(redis.call('HGET', qkey(q), 'aging') or '0')
if old ~= tonumber(ARGV[5]) and tonumber(redis.call('HGET', qkey(q), 'n') or '0') > 0 then
  return 0
end
redis.call('HSET', qkey(q), 'aging', ARGV[5], 'strat', ARGV[6], 'skills', ARGV[7],
  'lend', ARGV[8], 'borrowers', ARGV[9], 'slth', ARGV[10], 'slt', ARGV[11], 'slw', ARGV[12],
  'sab', ARGV[13])
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

# KEYS: call. ARGV: '1' to count an abandon for the service level.
REMOVE = """
local f = redis.call('HMGET', ckey(KEYS[1]), 'st')
if f[1] ~= 'waiting' then return 0 end
abandoned(KEYS[1])
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
  redis.call('HSET', akey(a), 'st', 'ready', 'since', ARGV[2])
  set_idle(a, ARGV[2])
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
if f[2] then
  local c = f[2]
  local g = redis.call('HMGET', ckey(c), 'st', 'q', 'm')
  if g[1] == 'assigned' and redis.call('ZCARD', okey(c)) > 1 then
    redis.call('ZREM', okey(c), a)  -- a ring_all call rings on at the others
    redis.call('HSET', ckey(c), 'agent', redis.call('ZRANGE', okey(c), 0, 0)[1])
  else
    if g[2] then redis.call('ZREM', gkey(g[2]), g[3]) end
    redis.call('DEL', ckey(c), okey(c))
  end
end
redis.call('HDEL', akey(a), 'reason')
if ARGV[5] == '1' then
  redis.call('HDEL', akey(a), 'call')
  redis.call('HSET', akey(a), 'st', 'ready', 'since', ARGV[2])
  set_idle(a, ARGV[2])
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
if f[1] ~= 'assigned' then return false end
local a = ARGV[6]
if a == '' then a = f[2] end
if redis.call('EXISTS', okey(c)) == 1 then
  if not redis.call('ZSCORE', okey(c), a) then return false end
  redis.call('ZREM', okey(c), a)
  redis.call('HDEL', akey(a), 'call')
  if redis.call('ZCARD', okey(c)) == 0 then
    redis.call('DEL', okey(c))
    unassign(c, a)
    place_call(c)
  else
    redis.call('HSET', ckey(c), 'agent', redis.call('ZRANGE', okey(c), 0, 0)[1])
  end
else
  if f[2] ~= a then return false end
  unassign(c, a)
  place_call(c)
end
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
local th = tonumber(redis.call('HGET', qkey(q), 'slth') or '20')
record_outcome(q, NOW - tonumber(g[4]) <= th)
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
local out = {{q, g[3], g[4]}}
if redis.call('EXISTS', okey(c)) == 1 then  -- ring_all: the others stop ringing
  for _, o in ipairs(redis.call('ZRANGE', okey(c), 0, -1)) do
    if o ~= a then
      give_back(o, ARGV[2])
      out[#out + 1] = o
    end
  end
  redis.call('DEL', okey(c))
  redis.call('HSET', ckey(c), 'agent', a)
end
return out
"""

# KEYS: call. ARGV: '1' to count an abandon. The caller of an assigned, unanswered call
# left: the agent is READY again at
# its old place.
WITHDRAW = """
local c = KEYS[1]
local f = redis.call('HMGET', ckey(c), 'st', 'q', 'm')
if f[1] ~= 'assigned' then return {} end
abandoned(c)
local agents = ringing_at(c)
redis.call('ZREM', gkey(f[2]), f[3])
redis.call('DEL', ckey(c), okey(c))
for _, a in ipairs(agents) do give_back(a, ARGV[2]) end
return agents
"""

# KEYS: agent. The best call for a READY agent (serve_agent). Replies the assignments.
ASSIGN_FOR_AGENT = """
local out = {}
serve_agent(KEYS[1], out)
return out
"""

# KEYS: call. The best READY agents for a waiting call (serve_call). Replies the assignments.
ASSIGN_FOR_CALL = """
local out = {}
serve_call(KEYS[1], out)
return out
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
  if x ~= nil and x ~= c then
    local q = redis.call('HGET', ckey(x), 'q')
    if not directed and redis.call('HGET', qkey(q), 'strat') == 'ring_all' then
      serve_call(x, out)
    else
      out[#out + 1] = assign(a, x, ARGV[2])
    end
  end
end
serve_call(c, out)
serve_agent(a, out)
return out
"""

# KEYS: queue. A lending queue's service level may just have been met (an answer there): the
# first calls of the queues that borrow from it take its READY agents (serve_call).
SERVE_BORROWERS = """
local out = {}
local bs = redis.call('HGET', qkey(KEYS[1]), 'borrowers')
if bs and bs ~= '' then
  for b in string.gmatch(bs, '[^,]+') do
    local h = head_call(b)
    if h ~= nil then serve_call(h, out) end
  end
end
return out
"""

# KEYS: call. ARGV: to queue, profile there, target ('' none), step there, only-if queue
# ('' any), only-if entered ('' any). A waiting or ringing call moves (a ringing offer is
# withdrawn: the agent is READY again at its old place), keeping e, priority and order.
# Replies {'gone'} | {'target'} | {'ok', from queue, old step, entered, withdrawn agents...}.
MOVE = """
local c = KEYS[1]
local f = redis.call('HMGET', ckey(c), 'st', 'agent', 'q', 'step', 'ent', 'p', 'e')
if not f[1] or f[1] == 'answered' then return {'gone'} end
if ARGV[9] ~= '' and f[3] ~= ARGV[9] then return {'gone'} end
if ARGV[10] ~= '' and tonumber(f[5]) ~= tonumber(ARGV[10]) then return {'gone'} end
local tg = ARGV[7]
if tg ~= '' and not redis.call('HGET', akey(tg), 'st') then return {'target'} end
local withdrawn = {}
if f[1] == 'assigned' then
  withdrawn = ringing_at(c)
  redis.call('DEL', okey(c))
  for _, a in ipairs(withdrawn) do
    unassign(c, a)
    redis.call('HDEL', akey(a), 'reason')
    redis.call('HSET', akey(a), 'st', 'ready', 'since', ARGV[2])
  end
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
local out = {'ok', f[3], f[4], f[5]}
for _, a in ipairs(withdrawn) do
  index_agent(a, true)
  out[#out + 1] = a
end
return out
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
