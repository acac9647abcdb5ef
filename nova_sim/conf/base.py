"""Helpers shared by the option modules. Imports nothing of nova_sim.

Why ``register_group_opts`` exists: ``ConfigOpts.register_group`` stores a *shallow* copy
of the ``OptGroup`` it is given, so two ``ConfigOpts`` registering the same module-level
group object share one dict of options, overrides included: ``set_override`` on one would
show on the other. Each registration here gets its own new ``OptGroup``.
"""

from __future__ import annotations

from collections.abc import Sequence

from oslo_config import cfg


def register_group_opts(conf: cfg.ConfigOpts, group: cfg.OptGroup, opts: Sequence[cfg.Opt]) -> None:
    """Register ``opts`` in a private copy of ``group`` on ``conf``."""
    if group.name not in conf:
        conf.register_group(
            cfg.OptGroup(
                group.name,
                title=group.title,
                help=group.help,
                dynamic_group_owner=group.dynamic_group_owner,
                driver_option=group.driver_option,
            )
        )
    conf.register_opts(list(opts), group=group.name)
