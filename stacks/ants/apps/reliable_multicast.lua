-- Reliable multicast (stacks/ants/apps/reliable_multicast.lua): multicast.lua's tree, with acks
-- gathered up the tree and lost branches resent from the soft store. The application header
-- is a kind, the group's name, ":" and the message's number:
--   "s" .. group       a subscription, as in multicast.lua.
--   "d" .. group:seq   data. Each active node where the tree branches keeps the payload and the
--                      node it came from (its parent) in the soft store, and sends a copy on to
--                      each active node below that subscribed through it; a receiver delivers
--                      it to its application once, however often it comes.
--   "a" .. group:seq   an ack, from a node to its parent, once every node below it has the
--                      message: acks are gathered, one per link of the tree, not one per
--                      receiver. At the source it tells the application that all receivers
--                      have the message.
--   "r" .. group:seq   a repair, from the source's application, which has heard no ack: every
--                      node that has the message sends it again, from its store, to the nodes
--                      below it that have not acked, and its ack again if it has one.
local AGE_MS = 10000

local function members(list)
  local out, from = {}, 2
  while from <= #list do
    local comma = string.find(list, ",", from, true)
    out[#out + 1] = tonumber(string.sub(list, from, comma - 1))
    from = comma + 1
  end
  return out
end

local function has(list, n) return string.find(list, "," .. n .. ",", 1, true) ~= nil end

return function(c)
  local me = node.getAddress()
  local kind, rest = string.sub(c.header, 1, 1), string.sub(c.header, 2)
  if kind == "s" then
    local key = "group" .. rest
    local list = node.get(key) or ","
    if not has(list, c.prev) then list = list .. c.prev .. "," end
    node.put(key, list, AGE_MS)
    if c.dst ~= me then node.routeForNode(c.dst, c.header, c.payload) end
    return
  end
  if c.dst ~= me then -- on the way between two nodes of the tree
    node.routeForNode(c.dst, c.header, c.payload)
    return
  end
  local colon = string.find(rest, ":", 1, true)
  if colon == nil then return end
  local group, msg = string.sub(rest, 1, colon - 1), rest
  local children = members(node.get("group" .. group) or ",")
  local acks_key = "acks" .. msg
  if kind == "a" then
    local acks = node.get(acks_key) or ","
    if not has(acks, c.prev) then node.put(acks_key, acks .. c.prev .. ",", AGE_MS) end
  elseif kind == "d" or kind == "r" then
    local payload = node.get("data" .. msg)
    if payload == nil then
      if kind == "r" then return end -- a repair of what never came here: the parent resends it
      payload = c.payload
      node.put("data" .. msg, payload, AGE_MS)
      node.put("parent" .. group, tostring(c.prev), AGE_MS)
      node.put(acks_key, ",", AGE_MS)
    end
    local acks = node.get(acks_key) or ","
    for _, n in ipairs(children) do
      if n == me then
        if node.get("got" .. msg) == nil then
          node.put("got" .. msg, "1", AGE_MS)
          node.deliverToApp("d" .. msg, payload)
        end
        if not has(acks, me) then acks = acks .. me .. "," end
      elseif not has(acks, n) then
        node.routeForNode(n, "d" .. msg, payload)
      end
    end
    node.put(acks_key, acks, AGE_MS)
  end
  -- Every node below has it: the ack goes up (again, for a repair or a repeated ack).
  local acks = node.get(acks_key) or ","
  for _, n in ipairs(children) do
    if not has(acks, n) then return end
  end
  if #children == 0 or (kind == "a" and node.get("acked" .. msg) ~= nil) then return end
  node.put("acked" .. msg, "1", AGE_MS)
  local parent = tonumber(node.get("parent" .. group))
  if parent == nil or parent == me then
    node.deliverToApp("a" .. msg, "")
  else
    node.routeForNode(parent, "a" .. msg, "")
  end
end
