-- Multicast (stacks/ants/apps/multicast.lua): a source sends once, the network copies.
--
-- One code for two kinds of capsule, told apart by the application header, whose first byte is
-- the kind and the rest the group's name:
--   "s" .. group  a subscription: a receiver sends it toward the group's source.
--   "d" .. group  data: the source sends it to itself, and the code copies it down the tree.
-- A subscription leaves at every active node it passes, in the soft store under the group's
-- name, the active node it came from (its prev): the node itself where the receiver is. Data
-- then leaves each branching node as one copy per active node below that subscribed through
-- it, so that a link carries one copy where unicast would carry one per receiver. A copy passes
-- the active nodes between two branching nodes unchanged, toward its destination; a passive
-- node forwards it like any packet. Subscriptions last a minute unless sent again.
local AGE_MS = 60000

-- The numbers in a list kept as ",3,8,12,".
local function members(list)
  local out, from = {}, 2
  while from <= #list do
    local comma = string.find(list, ",", from, true)
    out[#out + 1] = tonumber(string.sub(list, from, comma - 1))
    from = comma + 1
  end
  return out
end

return function(c)
  local kind, key = string.sub(c.header, 1, 1), "group" .. string.sub(c.header, 2)
  local me = node.getAddress()
  if kind == "s" then
    local list = node.get(key) or ","
    local entry = c.prev .. ","
    if not string.find(list, "," .. entry, 1, true) then list = list .. entry end
    node.put(key, list, AGE_MS)
    if c.dst ~= me then node.routeForNode(c.dst, c.header, c.payload) end
  elseif kind == "d" then
    if c.dst ~= me then
      node.routeForNode(c.dst, c.header, c.payload)
      return
    end
    local list = node.get(key)
    if list == nil then return end
    for _, n in ipairs(members(list)) do
      if n == me then
        node.deliverToApp(c.header, c.payload)
      else
        node.routeForNode(n, c.header, c.payload)
      end
    end
  end
end
