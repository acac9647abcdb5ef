"""The options for ``oslo-config-generator`` (entry point ``oslo.config.opts``:
``nova_sim.conf = nova_sim.conf.opts:list_opts``). Imports nothing of nova_sim but
nova_sim.conf."""

from __future__ import annotations

from oslo_config import cfg

from nova_sim.conf import MODULES


def list_opts() -> list[tuple[str | cfg.OptGroup, list[cfg.Opt]]]:
    """Every option by group: [DEFAULT] first, then the groups by name.

    The order is fixed (no dict or set of strings in hash order), so the sample file is
    the same on every run and every machine.
    """
    by_group: dict[str, tuple[str | cfg.OptGroup, list[cfg.Opt]]] = {}
    for module in MODULES:
        for group, opts in module.list_opts().items():
            name = group if isinstance(group, str) else group.name
            entry = by_group.setdefault(name, (group, []))
            entry[1].extend(opts)
    names = sorted(by_group, key=lambda name: (name != "DEFAULT", name))
    return [(by_group[name][0], by_group[name][1]) for name in names]
