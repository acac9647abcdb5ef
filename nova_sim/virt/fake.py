"""The fake hypervisor: Nova's ``FakeDriver`` with time, capacity and failures.

Owns what one simulated hypervisor "runs": a dict of guests and their power states, the
host's capacity (``[fake_driver] vcpus / memory_mb / local_gb``), how long each operation
takes (a latency distribution per operation, slept on the hub's clock, so it costs nothing
under the virtual clock) and injected failures (a probability of a failed spawn, globally
or only on listed hosts). Every random draw comes from one generator: ``[fake_driver]
seed`` when set, else the hub's random (seeded under ``virtual_time(seed=...)``), so a
simulated run is repeatable.

Method names and arguments follow ``nova.virt.driver.ComputeDriver``. Must not know about
RPC, the database or the conductor: the compute manager calls it and saves the states.

Latency distributions are the strings of ``nova_sim.conf.fake_driver`` (``fixed:0``,
``uniform:1.0,2.0``, ``normal:1.5,0.3``, ``exponential:1.5``).
"""

from __future__ import annotations

import logging
import random as random_module
from typing import Any

import nova_sim.conf
from nova_sim import exception, green, trace
from nova_sim.compute import power_state
from nova_sim.conf.fake_driver import Distribution, parse_distribution

LOG = logging.getLogger(__name__)

#: Driver operation -> the [fake_driver] option holding its latency distribution.
LATENCY_OPTIONS = {
    "spawn": "spawn_latency",
    "reboot": "reboot_latency",
    "power_off": "stop_latency",
    "power_on": "start_latency",
    "destroy": "delete_latency",
    "network": None,  # port binding: no option; zero unless a test overrides it
    # no options either: zero unless a test overrides them
    "pause": None,
    "suspend": None,
    "rescue": None,
    "snapshot": None,
}

#: The fake guest's console log (a CirrOS-like boot), ``{name}`` and ``{uuid}`` filled in.
CONSOLE_LOG = """[    0.000000] Linux version 5.15.0-71-generic #78-Ubuntu SMP
[    0.000000] Command line: root=LABEL=cirros-rootfs ro console=tty1 console=ttyS0
[    0.000000] KERNEL supported cpus:
[    0.000000]   Intel GenuineIntel
[    0.000000]   AMD AuthenticAMD
[    0.000000] BIOS-provided physical RAM map:
[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable
[    0.000000] Hypervisor detected: KVM
[    0.004000] DMI: OpenStack Foundation OpenStack Nova, BIOS 1.15.0-1 04/01/2014
[    0.012000] tsc: Detected 2399.998 MHz processor
[    0.120000] Memory: 2014340K/2096632K available
[    0.240000] SLUB: HWalign=64, Order=0-3, MinObjects=0, CPUs=1, Nodes=1
[    0.480000] Calibrating delay loop (skipped) preset value.. 4799.99 BogoMIPS
[    0.600000] virtio_blk virtio2: [vda] 2097152 512-byte logical blocks
[    0.720000]  vda: vda1 vda15
[    0.960000] EXT4-fs (vda1): mounted filesystem with ordered data mode
[    1.200000] Freeing unused kernel image memory: 2480K
[    1.320000] Run /sbin/init as init process
Starting logging: OK
Initializing random number generator... done.
Starting network...
udhcpc: started, v1.29.3
udhcpc: sending discover
udhcpc: sending select for 10.0.0.3
udhcpc: lease of 10.0.0.3 obtained, lease time 86400
checking http://169.254.169.254/2009-04-04/instance-id
successful after 1/20 tries: up 2.10. iid={uuid}
Starting dropbear sshd: OK
=== system information ===
Platform: OpenStack Foundation OpenStack Nova
Container: none
Arch: x86_64
CPU(s): 1 @ 2399.998 MHz
Cores/Sockets/Threads: 1/1/1
Virt-type: AMD-V
RAM Size: 1987MB
Disks:
NAME  MAJ:MIN       SIZE LABEL         MOUNTPOINT
vda   253:0   1073741824
vda1  253:1   1024458240 cirros-rootfs /
=== cirros: current=0.6.2 uptime=3.20 ===
  ____               ____  ____
 / __/ __ ____ ____ / __ \\/ __/
/ /__ / // __// __// /_/ /\\ \\
\\___//_//_/  /_/   \\____/___/
   http://cirros-cloud.net

login as 'cirros' user. default password: 'gocubsgo'. use 'sudo' for root.
{name} login: """


class InjectedSpawnFailure(exception.NovaException):
    """The failure the fake driver injects into a spawn (the compute reschedules)."""

    msg_fmt = "Injected spawn failure of instance %(instance_uuid)s on %(host)s"


class InstanceInfo:
    """What ``get_info`` answers: the guest's power state (Nova's ``hardware.InstanceInfo``)."""

    __slots__ = ("state",)

    def __init__(self, state: int):
        self.state = state



class FakeDriver:
    """A simulated hypervisor for one compute host.

    ``conf`` is the service's ConfigOpts (``[fake_driver]`` read when present; defaults
    otherwise); keyword arguments override single settings (tests use them):
    ``vcpus, memory_mb, local_gb, latency={op: spec}, spawn_failure_rate, failing_hosts,
    seed``.
    """

    capabilities = {"has_imagecache": False, "supports_evacuate": False}

    def __init__(self, conf: Any = None, host: str | None = None, **overrides: Any):
        conf = conf if conf is not None else nova_sim.conf.CONF
        group = conf.fake_driver
        settings = {
            "vcpus": group.vcpus,
            "memory_mb": group.memory_mb,
            "local_gb": group.local_gb,
            "spawn_failure_rate": group.spawn_failure_rate,
            "failing_hosts": list(group.failing_hosts),
            "seed": group.seed if group.seed is not None else conf.seed,
        }
        latency = {
            op: group[option] if option else "fixed:0"
            for op, option in LATENCY_OPTIONS.items()
        }
        latency.update(overrides.pop("latency", {}) or {})
        settings.update(overrides)
        self.host = host
        self.vcpus = int(settings["vcpus"])
        self.memory_mb = int(settings["memory_mb"])
        self.local_gb = int(settings["local_gb"])
        self.spawn_failure_rate = float(settings["spawn_failure_rate"])
        self.failing_hosts = set(settings["failing_hosts"])
        self._seed = settings["seed"]
        self._random: random_module.Random | None = None
        self._latency: dict[str, Distribution] = {
            op: spec if isinstance(spec, Distribution) else parse_distribution(str(spec))
            for op, spec in latency.items()
        }
        #: uuid -> {"uuid", "name", "power_state", "vcpus", "memory_mb", "root_gb"}
        self.instances: dict[str, dict[str, Any]] = {}

    # -- randomness and time ------------------------------------------------------------

    @property
    def random(self) -> random_module.Random:
        """The generator of all draws: seeded ``[fake_driver] seed`` or the hub's."""
        if self._random is None:
            if self._seed is not None:
                self._random = random_module.Random(f"{self._seed}:{self.host}")
            else:
                self._random = green.get_hub().random
        return self._random

    def _delay(self, operation: str) -> None:
        distribution = self._latency.get(operation)
        if distribution is None:
            return
        seconds = distribution.sample(self.random)
        if seconds > 0:
            green.sleep(seconds)

    # -- host -----------------------------------------------------------------------------

    def init_host(self, host: str) -> None:
        """Start-up of the hypervisor for ``host`` (nothing to connect to)."""
        self.host = host

    def get_available_nodes(self, refresh: bool = False) -> list[str]:
        """The hypervisor nodes of this host: one, named after the host."""
        return [self.host]

    def get_available_resource(self, nodename: str) -> dict[str, Any]:
        """Capacity and hypervisor-side usage of ``nodename`` (Nova's resource dict)."""
        used = self.instances.values()
        return {
            "vcpus": self.vcpus,
            "memory_mb": self.memory_mb,
            "local_gb": self.local_gb,
            "vcpus_used": sum(guest["vcpus"] for guest in used),
            "memory_mb_used": sum(guest["memory_mb"] for guest in used),
            "local_gb_used": sum(guest["root_gb"] for guest in used),
            "hypervisor_type": "fake",
            "hypervisor_version": 1000,
            "hypervisor_hostname": nodename,
            "cpu_info": "?",
        }

    def list_instance_uuids(self) -> list[str]:
        """UUIDs of the guests this hypervisor has."""
        return list(self.instances)

    def list_instances(self) -> list[str]:
        """Names of the guests this hypervisor has."""
        return [guest["name"] for guest in self.instances.values()]

    def instance_exists(self, instance: dict[str, Any]) -> bool:
        """Whether the hypervisor has a guest for ``instance``."""
        return instance["uuid"] in self.instances

    def get_info(self, instance: dict[str, Any]) -> InstanceInfo:
        """The guest's power state; raises ``InstanceNotFound`` if there is no guest."""
        guest = self.instances.get(instance["uuid"])
        if guest is None:
            raise exception.InstanceNotFound(instance_id=instance["uuid"])
        return InstanceInfo(guest["power_state"])

    # -- guests ---------------------------------------------------------------------------

    def allocate_network(self, instance: dict[str, Any]) -> list[dict[str, Any]]:
        """Simulated port binding (Neutron's part of a build): sleeps ``network`` latency."""
        with trace.span("driver.allocate_network", instance_uuid=instance["uuid"]):
            self._delay("network")
        return []

    def spawn(
        self,
        context: Any,
        instance: dict[str, Any],
        image_meta: Any = None,
        injected_files: Any = None,
        admin_password: str | None = None,
        allocations: Any = None,
        network_info: Any = None,
        block_device_info: Any = None,
    ) -> None:
        """Create and boot the guest after the ``spawn`` latency.

        Raises ``InjectedSpawnFailure`` (after the latency, as a real failure would) with
        probability ``spawn_failure_rate``; on a host in ``failing_hosts`` always.
        """
        with trace.span("driver.spawn", instance_uuid=instance["uuid"], host=self.host):
            self._delay("spawn")
            failing = self.host in self.failing_hosts
            if not failing and self.spawn_failure_rate > 0:
                failing = self.random.random() < self.spawn_failure_rate
            if failing:
                raise InjectedSpawnFailure(instance_uuid=instance["uuid"], host=self.host)
            flavor = instance.get("flavor") or {}
            self.instances[instance["uuid"]] = {
                "uuid": instance["uuid"],
                "name": instance.get("name") or instance["uuid"],
                "power_state": power_state.RUNNING,
                "vcpus": int(instance.get("vcpus") or flavor.get("vcpus") or 0),
                "memory_mb": int(instance.get("memory_mb") or flavor.get("memory_mb") or 0),
                "root_gb": int(instance.get("root_gb") or flavor.get("root_gb") or 0),
            }

    def destroy(
        self,
        context: Any,
        instance: dict[str, Any],
        network_info: Any = None,
        block_device_info: Any = None,
        destroy_disks: bool = True,
    ) -> None:
        """Remove the guest after the ``destroy`` latency (no error if it is not there)."""
        with trace.span("driver.destroy", instance_uuid=instance["uuid"]):
            self._delay("destroy")
            self.instances.pop(instance["uuid"], None)

    def power_off(self, instance: dict[str, Any], timeout: int = 0, retry_interval: int = 0):
        """Shut the guest down (power state SHUTDOWN) after the ``power_off`` latency."""
        with trace.span("driver.power_off", instance_uuid=instance["uuid"]):
            self._delay("power_off")
            self._guest(instance)["power_state"] = power_state.SHUTDOWN

    def power_on(
        self,
        context: Any,
        instance: dict[str, Any],
        network_info: Any = None,
        block_device_info: Any = None,
    ) -> None:
        """Boot the guest (power state RUNNING) after the ``power_on`` latency."""
        with trace.span("driver.power_on", instance_uuid=instance["uuid"]):
            self._delay("power_on")
            self._guest(instance)["power_state"] = power_state.RUNNING

    def reboot(
        self,
        context: Any,
        instance: dict[str, Any],
        network_info: Any = None,
        reboot_type: str = "SOFT",
        block_device_info: Any = None,
        bad_volumes_callback: Any = None,
    ) -> None:
        """Reboot the guest after the ``reboot`` latency; it ends RUNNING."""
        with trace.span("driver.reboot", instance_uuid=instance["uuid"], type=reboot_type):
            self._delay("reboot")
            self._guest(instance)["power_state"] = power_state.RUNNING

    def _set_power(self, instance: dict[str, Any], operation: str, latency: str,
                   state: int) -> None:
        with trace.span(f"driver.{operation}", instance_uuid=instance["uuid"]):
            self._delay(latency)
            self._guest(instance)["power_state"] = state

    def pause(self, instance: dict[str, Any]) -> None:
        """Pause the guest (power state PAUSED) after the ``pause`` latency."""
        self._set_power(instance, "pause", "pause", power_state.PAUSED)

    def unpause(self, instance: dict[str, Any]) -> None:
        """Unpause the guest (RUNNING) after the ``pause`` latency."""
        self._set_power(instance, "unpause", "pause", power_state.RUNNING)

    def suspend(self, context: Any, instance: dict[str, Any]) -> None:
        """Suspend the guest to disk (power state SUSPENDED) after the ``suspend``
        latency."""
        self._set_power(instance, "suspend", "suspend", power_state.SUSPENDED)

    def resume(self, context: Any, instance: dict[str, Any], network_info: Any = None,
               block_device_info: Any = None) -> None:
        """Resume a suspended guest (RUNNING) after the ``suspend`` latency."""
        self._set_power(instance, "resume", "suspend", power_state.RUNNING)

    def rescue(self, context: Any, instance: dict[str, Any], network_info: Any = None,
               image_meta: Any = None, rescue_password: str | None = None,
               block_device_info: Any = None) -> None:
        """Boot the guest from a rescue image (RUNNING) after the ``rescue`` latency."""
        self._set_power(instance, "rescue", "rescue", power_state.RUNNING)
        self._guest(instance)["rescued"] = True

    def unrescue(self, context: Any, instance: dict[str, Any]) -> None:
        """Boot the guest from its own disk again (RUNNING) after the ``rescue``
        latency."""
        self._set_power(instance, "unrescue", "rescue", power_state.RUNNING)
        self._guest(instance).pop("rescued", None)

    def snapshot(self, context: Any, instance: dict[str, Any], image_id: str,
                 update_task_state: Any) -> int:
        """Copy the guest's disk into image ``image_id``: ``update_task_state`` to
        ``image_pending_upload`` then ``image_uploading`` (as libvirt's driver does),
        the ``snapshot`` latency, and the size of the disk in bytes returned for the
        caller to record (the fake keeps no bytes). ``InstanceNotFound`` without a
        guest."""
        from nova_sim.compute import task_states

        guest = self._guest(instance)
        with trace.span("driver.snapshot", instance_uuid=instance["uuid"], image_id=image_id):
            update_task_state(task_states.IMAGE_PENDING_UPLOAD)
            update_task_state(task_states.IMAGE_UPLOADING,
                              expected_state=task_states.IMAGE_PENDING_UPLOAD)
            self._delay("snapshot")
        return max(int(guest["root_gb"]), 1) * 1024 ** 3 // 64  # a sparse qcow2's share

    def inject_network_info(self, instance: dict[str, Any], network_info: Any) -> None:
        """Write the guest's network configuration (nothing to write in the fake;
        ``InstanceNotFound`` without a guest)."""
        self._guest(instance)

    def get_console_output(self, context: Any, instance: dict[str, Any]) -> str:
        """The guest's console log (``CONSOLE_LOG``); ``InstanceNotFound`` without a
        guest."""
        guest = self._guest(instance)
        return CONSOLE_LOG.format(name=instance.get("hostname") or guest["name"],
                                  uuid=instance["uuid"])

    def migrate_disk_and_power_off(self, context: Any, instance: dict[str, Any], dest: str,
                                   flavor: dict[str, Any], network_info: Any = None,
                                   block_device_info: Any = None, timeout: int = 0,
                                   retry_interval: int = 0) -> str:
        """The source's half of a resize: power the guest off (``power_off`` latency);
        the guest stays until the resize is confirmed. Returns the disk info (none)."""
        self.power_off(instance)
        return "{}"

    def finish_migration(self, context: Any, migration: dict[str, Any],
                         instance: dict[str, Any], disk_info: Any = None,
                         network_info: Any = None, image_meta: Any = None,
                         resize_instance: bool = True, allocations: Any = None,
                         block_device_info: Any = None, power_on: bool = True) -> None:
        """The destination's half: the guest with the instance's (new) flavor, RUNNING
        when ``power_on``, else SHUTDOWN, after the ``spawn`` latency."""
        with trace.span("driver.finish_migration", instance_uuid=instance["uuid"]):
            self._delay("spawn")
            flavor = instance.get("flavor") or {}
            self.instances[instance["uuid"]] = {
                "uuid": instance["uuid"],
                "name": instance.get("name") or instance["uuid"],
                "power_state": power_state.RUNNING if power_on else power_state.SHUTDOWN,
                "vcpus": int(flavor.get("vcpus") or 0),
                "memory_mb": int(flavor.get("memory_mb") or 0),
                "root_gb": int(flavor.get("root_gb") or 0),
            }

    def confirm_migration(self, context: Any, migration: dict[str, Any],
                          instance: dict[str, Any], network_info: Any = None) -> None:
        """Drop the source's guest of a confirmed resize (``destroy`` latency)."""
        self.destroy(context, instance)

    def finish_revert_migration(self, context: Any, instance: dict[str, Any],
                                network_info: Any = None, migration: Any = None,
                                block_device_info: Any = None,
                                power_on: bool = True) -> None:
        """The source's guest back after a reverted resize, with the instance's (old)
        flavor, RUNNING when ``power_on`` (``power_on`` latency)."""
        if instance["uuid"] not in self.instances:
            self.adopt(instance, power_state.SHUTDOWN)
        if power_on:
            self.power_on(context, instance)

    def adopt(self, instance: dict[str, Any], state: int) -> None:
        """Simulator only: take over a guest the database knows and this (in-memory)
        hypervisor lost with its last process, in power state ``state``."""
        self.instances[instance["uuid"]] = {
            "uuid": instance["uuid"],
            "name": instance.get("display_name") or instance["uuid"],
            "power_state": state,
            "vcpus": int(instance.get("vcpus") or 0),
            "memory_mb": int(instance.get("memory_mb") or 0),
            "root_gb": int(instance.get("root_gb") or 0),
        }

    def _guest(self, instance: dict[str, Any]) -> dict[str, Any]:
        guest = self.instances.get(instance["uuid"])
        if guest is None:
            raise exception.InstanceNotFound(instance_id=instance["uuid"])
        return guest
