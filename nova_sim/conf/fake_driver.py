"""[fake_driver] options of the simulated hypervisor, and the latency distribution type.

Owns the option definitions of the fake virt driver (capacity per host, latency of each
operation, failure injection) and ``Distribution``, the parsed form of a latency string
such as ``uniform:1.0,2.0``. Imports nothing of nova_sim; the driver draws samples with
its own seeded ``random.Random``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from oslo_config import cfg, types

from nova_sim.conf.base import register_group_opts

DISTRIBUTION_HELP = (
    "A latency distribution, in seconds: ``fixed:S`` (always S; a bare number means the "
    "same), ``uniform:A,B`` (anywhere between A and B), ``normal:MEAN,STDDEV`` (cut at 0) "
    "or ``exponential:MEAN``."
)

_ARITY = {"fixed": 1, "uniform": 2, "normal": 2, "exponential": 1}


@dataclass(frozen=True)
class Distribution:
    """A parsed latency distribution; ``sample(rng)`` draws one non-negative value."""

    kind: str
    params: tuple[float, ...]

    def sample(self, rng: random.Random) -> float:
        """One value in seconds drawn with ``rng`` (never negative).

        ``fixed`` draws nothing from ``rng``, so a zero-latency run consumes no random
        numbers.
        """
        if self.kind == "fixed":
            return self.params[0]
        if self.kind == "uniform":
            return rng.uniform(*self.params)
        if self.kind == "normal":
            return max(0.0, rng.gauss(*self.params))
        return rng.expovariate(1.0 / self.params[0]) if self.params[0] > 0 else 0.0

    @property
    def mean(self) -> float:
        """The distribution's mean (for the normal one, before cutting at 0)."""
        if self.kind == "uniform":
            return (self.params[0] + self.params[1]) / 2
        return self.params[0]

    def __str__(self) -> str:
        return f"{self.kind}:" + ",".join(repr(p) for p in self.params)


def parse_distribution(text: str) -> Distribution:
    """Parse a latency string (see ``DISTRIBUTION_HELP``).

    Raises ValueError with a message that names the problem for anything else: an unknown
    kind, a wrong number of parameters, a negative or non-finite value, ``uniform`` with
    A > B.
    """
    spec = text.strip()
    kind, sep, rest = spec.partition(":")
    if not sep:
        kind, rest = "fixed", spec
    kind = kind.strip().lower()
    if kind not in _ARITY:
        raise ValueError(
            f"unknown distribution {kind!r} in {text!r} (use fixed, uniform, normal or exponential)"
        )
    try:
        params = tuple(float(p) for p in rest.split(","))
    except ValueError:
        raise ValueError(f"parameters of {text!r} must be numbers")
    if len(params) != _ARITY[kind]:
        raise ValueError(f"{kind} takes {_ARITY[kind]} parameter(s), got {text!r}")
    if not all(math.isfinite(p) and p >= 0 for p in params):
        raise ValueError(f"parameters of {text!r} must be finite and >= 0")
    if kind == "uniform" and params[0] > params[1]:
        raise ValueError(f"uniform:A,B needs A <= B, got {text!r}")
    return Distribution(kind, params)


class DistributionType(types.String):
    """oslo.config type of a latency option: a string that must parse as a Distribution.

    The option's value stays the string (so the sample file shows it as written);
    ``parse_distribution(conf.fake_driver.spawn_latency)`` gives the Distribution.
    """

    def __init__(self) -> None:
        super().__init__(type_name="latency distribution")

    def __call__(self, value: object) -> str:
        text = super().__call__(value)
        parse_distribution(text)
        return text


fake_driver_group = cfg.OptGroup(
    "fake_driver",
    title="Fake virt driver options",
    help="The simulated hypervisor of every compute host: capacity, latency of each "
    "operation and failure injection. " + DISTRIBUTION_HELP,
)


def _latency_opt(name: str, default: str, what: str) -> cfg.Opt:
    return cfg.Opt(
        name,
        type=DistributionType(),
        default=default,
        help=f"How long the driver takes to {what}. " + DISTRIBUTION_HELP,
    )


fake_driver_opts = [
    cfg.IntOpt("vcpus", default=16, min=1, help="Physical CPUs of each compute host."),
    cfg.IntOpt("memory_mb", default=65536, min=1, help="Memory (MiB) of each compute host."),
    cfg.IntOpt("local_gb", default=1024, min=1, help="Local disk (GiB) of each compute host."),
    _latency_opt(
        "spawn_latency",
        "uniform:1.0,2.0",
        "spawn an instance (long enough to see BUILD in `openstack server list`; tests use "
        "fixed:0)",
    ),
    _latency_opt("reboot_latency", "uniform:1.0,2.0", "reboot an instance (soft or hard)"),
    _latency_opt("stop_latency", "uniform:0.2,0.5", "power off an instance"),
    _latency_opt("start_latency", "uniform:0.2,0.5", "power on an instance"),
    _latency_opt("delete_latency", "uniform:0.2,0.5", "destroy an instance"),
    cfg.FloatOpt(
        "spawn_failure_rate",
        default=0.0,
        min=0.0,
        max=1.0,
        help="Probability that a spawn fails (on any host), which makes the compute "
        "reschedule the instance to an alternate host.",
    ),
    cfg.ListOpt(
        "failing_hosts",
        default=[],
        help="Compute hosts whose spawns always fail (failure injection per host).",
    ),
    cfg.IntOpt(
        "seed",
        default=None,
        help="Seed of the drivers' random generator (latencies, failures). Unset: derived "
        "from [DEFAULT] seed when that is set, otherwise random.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the [fake_driver] options on ``conf``."""
    register_group_opts(conf, fake_driver_group, fake_driver_opts)


def list_opts() -> dict[cfg.OptGroup, list[cfg.Opt]]:
    """The options of this module by group, for the sample generator."""
    return {fake_driver_group: list(fake_driver_opts)}
