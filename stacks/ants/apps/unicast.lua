-- Unicast (stacks/ants/apps/unicast.lua): what a network without active code does, as capsule
-- code: on toward the destination, and to the application there. The yardstick that
-- `lamina ants demo` sets multicast against, and the trivial code of `lamina ants bench`.
return function(c)
  if c.dst == node.getAddress() then
    node.deliverToApp(c.header, c.payload)
  else
    node.routeForNode(c.dst, c.header, c.payload)
  end
end
