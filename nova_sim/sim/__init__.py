"""nova_sim.sim: Rally task files run against a simulated cloud.

``nova-sim simulate TASK`` loads a Rally task (``task``), builds the cloud described by a
cloud file (``cloudspec``), drives it through the Compute API in-process with Rally's
runners and scenarios (``runners``, ``scenarios``, ``client``), injects faults on the
timeline (``faults``), watches Nova's side (``observe``), checks the SLA (``sla``) and
writes the results (``results``, ``report``). ``engine`` ties one run together.

This package sits above the composition root (it builds clouds) and below ``cmd``.
"""

from nova_sim.sim.task import TaskError, load_task

__all__ = ["TaskError", "load_task"]
