-- Anycast (stacks/ants/apps/anycast.lua): a request for a group goes to its least-loaded
-- member. One code for three kinds of capsule; the application header is the kind, then the
-- group's name:
--   "a" .. group  an advertisement: a member sends its load (the payload, a number) toward the
--                 group's rendezvous node; every active node on the way notes it in the soft
--                 store, for ten seconds unless the member sends again.
--   "r" .. group  a request, sent toward the rendezvous: there, the code picks the member with
--                 the least load it knows of and sends the request on to it.
--   "d" .. group  a request on its way to the member chosen, delivered there.
-- The rendezvous hears every member's advertisements, so its choice is the group's
-- least-loaded member as last advertised (ties: the lowest-numbered).
local AGE_MS = 10000

return function(c)
  local kind, group = string.sub(c.header, 1, 1), string.sub(c.header, 2)
  local me = node.getAddress()
  local list_key = "members" .. group
  if kind == "a" then
    local member = tostring(c.src)
    local list = node.get(list_key) or ","
    if not string.find(list, "," .. member .. ",", 1, true) then list = list .. member .. "," end
    node.put(list_key, list, AGE_MS)
    node.put("load" .. group .. ":" .. member, c.payload, AGE_MS)
    if c.dst ~= me then node.routeForNode(c.dst, c.header, c.payload) end
  elseif kind == "r" and c.dst == me then
    local best, best_load = nil, nil
    local list = node.get(list_key) or ","
    local from = 2
    while from <= #list do
      local comma = string.find(list, ",", from, true)
      local member = string.sub(list, from, comma - 1)
      local load = tonumber(node.get("load" .. group .. ":" .. member))
      if load ~= nil and (best_load == nil or load < best_load) then
        best, best_load = tonumber(member), load
      end
      from = comma + 1
    end
    if best == nil then return end -- no member known: the request is dropped
    if best == me then
      node.deliverToApp("d" .. group, c.payload)
    else
      node.routeForNode(best, "d" .. group, c.payload)
    end
  elseif c.dst == me then
    node.deliverToApp(c.header, c.payload)
  else
    node.routeForNode(c.dst, c.header, c.payload)
  end
end
