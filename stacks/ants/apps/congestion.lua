-- Congestion notification (stacks/ants/apps/congestion.lua): the network tells a source that
-- it sends too fast, where it happens. Data capsules (application header "d") go from a
-- source to a sink. An active node on the way whose outgoing queue holds more than THRESHOLD
-- packets sends the source a notice (header "c", the queue's length as payload), at most one
-- per source every QUIET_MS (the soft store remembers), and forwards the data as usual. The
-- source's application slows down when a notice comes.
local THRESHOLD = 8
local QUIET_MS = 20

return function(c)
  local me = node.getAddress()
  if c.dst == me then
    node.deliverToApp(c.header, c.payload) -- data at the sink, a notice at the source
    return
  end
  if string.sub(c.header, 1, 1) == "d" and node.queueLength() > THRESHOLD
     and node.get("told" .. c.src) == nil then
    node.put("told" .. c.src, "1", QUIET_MS)
    local queue = tostring(node.queueLength())
    if c.src == me then
      node.deliverToApp("c", queue)
    else
      node.routeForNode(c.src, "c", queue)
    end
  end
  node.routeForNode(c.dst, c.header, c.payload)
end
