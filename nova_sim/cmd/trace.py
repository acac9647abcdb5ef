"""``nova-sim trace ...``: hands the arguments to the trace package's own command.

The contract: ``nova_sim.trace.cli.main(argv: list[str], conf) -> int`` parses ``argv``
(``show REQUEST_ID|--last``, ``export --format ...``, ``merge ...``) and returns the exit
status. Must not know how traces are stored or exported.
"""

from __future__ import annotations

from typing import Any


def trace_command(args: Any, conf: Any) -> int:
    """Handler of ``nova-sim trace``: runs ``nova_sim.trace.cli.main(args, conf)``."""
    from nova_sim.cmd import CommandError

    try:
        from nova_sim.trace import cli
    except ImportError as error:
        if getattr(error, "name", None) == "nova_sim.trace.cli":
            raise CommandError("the trace commands (nova_sim.trace.cli) are not available yet")
        raise
    return int(cli.main(list(args.trace_args or []), conf) or 0)
