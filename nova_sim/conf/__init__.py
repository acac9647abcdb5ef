"""nova-sim's configuration: option definitions by group, and loading them.

Owns ``CONF`` (nova-sim's own ``oslo_config.cfg.ConfigOpts``; never oslo's global
``cfg.CONF``, so that nova-sim can share a process with oslo.messaging), ``new_conf()``
for a private, fully registered ``ConfigOpts`` (tests, several clouds in one process),
``parse_args()`` which loads ``--config-file`` / ``--config-dir`` and checks every value
up front, ``warn_unknown_options()`` for keys of the files that no option has, and
``ConfigError``. One module per option group, as ``nova/conf/``; ``opts.py`` feeds
``oslo-config-generator``.

Every option is registered once, with its default, in its group's module; code reads it
as ``conf.<group>.<name>`` (``conf.<name>`` for ``[DEFAULT]``), so a name that is not
registered fails at once (oslo.config's ``NoSuchOptError``) instead of quietly falling
back to a default of the reader's own.

This package is a leaf: it imports only oslo.config and the standard library, never
anything else of nova_sim, so that every layer may read it.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from oslo_config import cfg

from nova_sim.conf import (
    api,
    compute,
    dashboard,
    database,
    default,
    fake_driver,
    identity,
    quota,
    rabbit,
    scheduler,
    trace,
    wsgi,
)

PROJECT = "nova-sim"

LOG = logging.getLogger(__name__)

# The option modules, in the order their groups appear in the sample file.
MODULES = (default, compute, api, dashboard, database, fake_driver, identity, rabbit, quota,
           scheduler, trace, wsgi)


class ConfigError(ValueError):
    """A configuration problem, with a one-line message fit for the user.

    Raised by ``parse_args`` / ``validate`` for unreadable or missing config files, values
    that do not parse, and values out of range. ``str(error)`` never spans several lines.
    """


def register_all(conf: cfg.ConfigOpts) -> cfg.ConfigOpts:
    """Register every nova-sim option on ``conf`` (which must not be parsed yet)."""
    for module in MODULES:
        module.register_opts(conf)
    return conf


def new_conf() -> cfg.ConfigOpts:
    """A fresh ``ConfigOpts`` with every nova-sim option registered, not yet parsed.

    Its values are the defaults until ``parse_args(argv, conf)`` loads files; tests may
    also use ``conf.set_override(name, value, group)`` without parsing.
    """
    return register_all(cfg.ConfigOpts())


CONF = new_conf()


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _groups_and_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    result = []
    for module in MODULES:
        for group, opts in module.list_opts().items():
            name = group if isinstance(group, str) else group.name
            result.append((None if name == "DEFAULT" else name, opts))
    return result


def validate(conf: cfg.ConfigOpts) -> None:
    """Read every nova-sim option once, so a bad value fails now and not mid-run.

    oslo.config converts values lazily, on first access; this forces the conversion of
    all of them. Raises ConfigError naming the group, the option, the file it came from
    (when oslo.config says) and what is wrong.
    """
    for group, opts in _groups_and_opts():
        namespace = conf if group is None else conf[group]
        for opt in opts:
            try:
                getattr(namespace, opt.dest)
            except (cfg.Error, ValueError) as error:
                raise ConfigError(_describe(group, opt.dest, error))


def _describe(group: str | None, name: str, error: Exception) -> str:
    """One line for a bad value; oslo's own text is "Value for option X from
    LocationInfo(location=..., detail='FILE') is not valid: REASON"."""
    message = str(error)
    where = ""
    marker = "detail='"
    if marker in message:
        start = message.index(marker) + len(marker)
        end = message.find("'", start)
        if end > start:
            where = f" (from {message[start:end]})"
    reason = message.split(" is not valid: ", 1)[-1]
    return _one_line(f"invalid value for [{group or 'DEFAULT'}] {name}{where}: {reason}")


def parse_args(
    argv: Sequence[str] | None,
    conf: cfg.ConfigOpts | None = None,
    default_config_files: Sequence[str] | None = None,
    *,
    default_config_dirs: Sequence[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    validate_values: bool = True,
) -> cfg.ConfigOpts:
    """Load the configuration into ``conf`` (default: ``CONF``) and return it.

    ``argv`` holds oslo.config command-line arguments only: ``--config-file PATH``
    (repeatable, later files win), ``--config-dir DIR`` (every ``*.conf`` in it, after the
    files), ``--debug`` / ``-d`` and ``--log-file PATH``; None means no arguments (not
    ``sys.argv``). ``default_config_files`` are read when no ``--config-file`` is given;
    None means oslo.config's search for ``nova-sim.conf`` (``~/.nova-sim/``, ``~/``,
    ``/etc/nova-sim/``, ``/etc/``); pass ``[]`` to read none. ``overrides`` maps
    ``"name"`` ([DEFAULT]) or ``"group.name"`` to values that win over every file
    (``None`` values are skipped), e.g. the CLI's ``--transport-url``.

    ``conf`` may be parsed again: values from earlier files and arguments are discarded
    (overrides stay, as ``conf.set_override``'s do). Unless ``validate_values``
    is False, every option is read once so that a bad value fails here. Raises
    ConfigError (one line) for a missing or unreadable file or directory, a file that is
    not INI, a missing required option, and a value that does not parse or is out of
    range. Unknown command-line arguments end in oslo.config's argparse error
    (SystemExit(2)): callers with their own CLI pass only the arguments above.
    """
    conf = CONF if conf is None else conf
    if default_config_files is None:
        default_config_files = cfg.find_config_files(project=PROJECT)
    if default_config_dirs is None:
        default_config_dirs = []
    try:
        conf(
            args=list(argv or []),
            project=PROJECT,
            prog=PROJECT,
            default_config_files=list(default_config_files),
            default_config_dirs=list(default_config_dirs),
            validate_default_values=True,
            use_env=False,
        )
    except (cfg.Error, OSError, ValueError) as error:
        raise ConfigError(_one_line(error))
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        group, _, name = key.rpartition(".")
        try:
            conf.set_override(name, value, group=group or None)
        except (cfg.Error, ValueError) as error:
            raise ConfigError(
                _one_line(f"invalid value {value!r} for [{group or 'DEFAULT'}] {name}: {error}")
            )
    if validate_values:
        validate(conf)
    return conf


class UnknownOption(NamedTuple):
    """A key of a config file that no nova-sim option has, in one of nova-sim's groups."""

    path: str
    group: str
    key: str


def _config_files(conf: cfg.ConfigOpts) -> list[str]:
    """The files ``conf`` was loaded from, in the order oslo.config read them: the
    ``--config-file`` ones (or the default files), then ``*.conf`` of each config dir."""
    files = list(conf.config_file or [])
    for directory in conf.config_dir or []:
        files += sorted(glob.glob(os.path.join(directory, "*.conf")))
    return files


def unknown_options(conf: cfg.ConfigOpts) -> list[UnknownOption]:
    """The keys of ``conf``'s config files, in ``[DEFAULT]`` and nova-sim's own groups,
    that are no registered option (typos, options of another release, Nova options
    nova-sim does not have), in file order.

    Sections that are not nova-sim groups (``[keystone_authtoken]`` of a real nova.conf,
    say) are not looked at. ``conf`` must have been parsed (``parse_args``); a file that
    cannot be read any more is skipped.
    """
    found = []
    for path in _config_files(conf):
        sections: dict[str, dict[str, Any]] = {}
        try:
            cfg.ConfigParser(path, sections).parse()
        except (OSError, cfg.ParseError):  # parse_args has already reported these
            continue
        for group, keys in sections.items():
            if group == "DEFAULT":
                namespace: Any = conf
            elif group in conf and isinstance(conf[group], cfg.ConfigOpts.GroupAttr):
                namespace = conf[group]
            else:
                continue
            found += [UnknownOption(path, group, key) for key in keys if key not in namespace]
    return found


def warn_unknown_options(conf: cfg.ConfigOpts) -> list[UnknownOption]:
    """Log one warning per unknown key of ``conf``'s files (see ``unknown_options``),
    naming the file, the group and the key; returns them. The commands call it once, at
    start-up, after logging is set up. An unknown key is not an error: oslo.config ignores
    it, and so does nova-sim."""
    unknown = unknown_options(conf)
    for path, group, key in unknown:
        LOG.warning("Unknown option %s in [%s] of %s: ignored", key, group, path)
    return unknown


__all__ = [
    "CONF",
    "ConfigError",
    "PROJECT",
    "UnknownOption",
    "new_conf",
    "parse_args",
    "register_all",
    "unknown_options",
    "validate",
    "warn_unknown_options",
]
