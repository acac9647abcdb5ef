"""``nova-sim trace ...``: hands the arguments to the trace package's own command.

The contract: ``nova_sim.trace.cli.main(argv: list[str], conf) -> int`` parses ``argv``
(``show REQUEST_ID|--last``, ``export --format ...``, ``merge ...``) and returns the exit
status. Must not know how traces are stored or exported.
"""

from __future__ import annotations

from typing import Any


def trace_command(args: Any, conf: Any) -> int:
    """Handler of ``nova-sim trace``: runs ``nova_sim.trace.cli.main(args, conf)``."""
    from nova_sim.trace import cli

    return int(cli.main(list(args.trace_args or []), conf) or 0)
