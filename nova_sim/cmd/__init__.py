"""Entry points: the ``nova-sim`` command and the Nova-like per-service commands.

``main.py`` parses the command line, loads the configuration and logging, and dispatches
to a handler; each handler imports what it starts only when it runs, so ``nova-sim
--help`` and ``nova-sim demo --list`` work without the rest of the package loaded.
"""


class UsageError(Exception):
    """A command-line or configuration mistake: one line on standard error, exit status 2."""


class CommandError(Exception):
    """A failure while running a command: one line on standard error, exit status 1."""
