"""The compute REST API (Nova's Compute API v2.1) of a simulated cloud.

``app.APIApplication`` is the WSGI application (WebOb requests and responses): versions
and microversions, noauth2/open auth, Nova fault bodies, and the controllers (servers,
server actions, instance actions, flavors, os-services, os-hypervisors,
os-availability-zone) plus the minimal image (``/image``) and network (``/network``)
services the clients need. ``service.make_server`` puts it on the green WSGI server
(``nova_sim.green.wsgi``). It talks to the rest of the cloud only through the compute API
(``nova_sim.compute.api.API``); it knows nothing of RPC, the database schema or sockets.
See docs/api.md.
"""
