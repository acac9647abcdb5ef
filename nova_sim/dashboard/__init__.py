"""nova_sim.dashboard: a live, read-only web dashboard of a running cloud.

Served by the process that runs the compute API (``nova-sim run``, ``nova-sim api``) on
its own listener (``[dashboard] host`` / ``port``, default ``127.0.0.1:8780``) on the
same hub, and written as static pages by ``nova-sim simulate --out DIR``. Pages:
overview (services, hosts, instances, rates), messages (a live sequence diagram of RPC),
greenthreads (what each greenthread does and waits on), requests (a request's spans as
a waterfall) and simulation (a finished run's figures). See docs/dashboard.md.

Sits beside the simulator, above ``deploy``: it reads a running cloud (the compute API
with an admin context, the span store, the hub) and never changes it.

- ``app``: the WSGI application, the live stream (server-sent events), ``Dashboard``;
- ``sources``: the figures; ``messages``: the RPC instrument; ``greenthreads``: the hub
  snapshot; ``export``: the static pages of a simulation run.
"""

from nova_sim.dashboard.app import Dashboard, start_for

__all__ = ["Dashboard", "start_for"]
