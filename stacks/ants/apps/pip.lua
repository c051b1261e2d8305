-- PIP (stacks/ants/apps/pip.lua): the payload crosses the network sealed, between the first
-- active node of its path, which seals it, and its destination, which opens it; the nodes
-- between only forward. The key is held by those two nodes' sandboxes: the code asks them to
-- seal and open (node.seal, node.open, libsodium's secretbox) and never sees it.
-- The application header says what the payload is: "p" plain, "s" sealed.
return function(c)
  local me = node.getAddress()
  local sealed = string.sub(c.header, 1, 1) == "s"
  if c.dst == me then
    if not sealed then
      node.deliverToApp(c.header, c.payload)
      return
    end
    local plain = node.open(c.payload)
    if plain ~= nil then node.deliverToApp("p", plain) end -- else forged or damaged: dropped
  elseif sealed then
    node.routeForNode(c.dst, c.header, c.payload)
  else
    node.routeForNode(c.dst, "s", node.seal(c.payload))
  end
end
