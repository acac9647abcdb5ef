"""The small sub-resources of a server: ``ips``, ``os-server-password``, ``diagnostics``
and ``remote-consoles``.

Owns ``GET /servers/{id}/ips`` (``{"addresses": ...}``, as in the server view) and
``GET /servers/{id}/ips/{network}`` (404 "Instance is not a member of specified network"
for a network it has no address on); ``GET /servers/{id}/os-server-password``
(``{"password": ""}``: no guest ever posts one to the metadata service) and ``DELETE`` of
it (204); ``GET /servers/{id}/diagnostics`` (admin), in the shape of Nova's fake driver,
which calls itself ``libvirt`` (the free-form dictionary below 2.48, the standard document
from 2.48). Nova asks the compute host for diagnostics; nova-sim's API makes them from
the instance record (its flavor, its addresses, how long it has run), with no RPC. Another
project's server is a 404. Must not know about the compute manager.
"""

from __future__ import annotations

from typing import Any

from nova_sim import green
from nova_sim.api import common, faults
from nova_sim.api.app import APIRequest, Reply, Router
from nova_sim.api.network import addresses_for
from nova_sim.api.servers import get_instance

_STATES = {1: "running", 3: "paused", 4: "shutdown", 6: "crashed", 7: "suspended"}


def register(router: Router, api) -> None:
    """Add the routes to the compute router."""
    router.add("GET", "/servers/{server_id}/ips", ips)
    router.add("GET", "/servers/{server_id}/ips/{network}", ips_of_network)
    router.add("GET", "/servers/{server_id}/os-server-password", password)
    router.add("DELETE", "/servers/{server_id}/os-server-password", clear_password)
    router.add("GET", "/servers/{server_id}/diagnostics", diagnostics)
    router.add("POST", "/servers/{server_id}/remote-consoles", remote_console)


def ips(request: APIRequest, server_id: str) -> Reply:
    """``GET /servers/{id}/ips``."""
    return Reply(200, {"addresses": addresses_for(get_instance(request, server_id))})


def ips_of_network(request: APIRequest, server_id: str, network: str) -> Reply:
    """``GET /servers/{id}/ips/{network}``."""
    addresses = addresses_for(get_instance(request, server_id))
    if network not in addresses:
        raise faults.NotFound("Instance is not a member of specified network")
    return Reply(200, {network: addresses[network]})


def password(request: APIRequest, server_id: str) -> Reply:
    """``GET /servers/{id}/os-server-password``: the encrypted password a guest left
    (none ever does here: ``""``)."""
    get_instance(request, server_id)
    return Reply(200, {"password": ""})


def clear_password(request: APIRequest, server_id: str) -> Reply:
    """``DELETE /servers/{id}/os-server-password``: 204."""
    get_instance(request, server_id)
    return Reply(204)


#: protocol -> {console type: Nova's default proxy URL of that type}
_CONSOLES = {
    "vnc": {"novnc": "http://127.0.0.1:6080/vnc_lite.html",
            "xvpvnc": "http://127.0.0.1:6081/console"},
    "spice": {"spice-html5": "http://127.0.0.1:6082/spice_auto.html"},
    "serial": {"serial": "ws://127.0.0.1:6083/"},
    "mks": {"webmks": "http://127.0.0.1:6090/"},
}


def remote_console(request: APIRequest, server_id: str) -> Reply:
    """``POST /servers/{id}/remote-consoles`` (2.6; ``mks`` from 2.8): a console URL with
    a fresh token, on Nova's default proxy addresses (no proxy serves it: there is no
    guest). 400 for an unknown protocol or a type of another protocol, 409 until the
    server has a host."""
    if not request.version.matches("2.6"):
        raise faults.NotFound()
    body = request.json_body()
    spec = common.require_dict(body, "remote_console")
    common.check_properties(spec, "remote_console", {"protocol", "type"},
                            ("protocol", "type"))
    protocol, kind = spec["protocol"], spec["type"]
    types = _CONSOLES.get(protocol) if isinstance(protocol, str) else None
    if types is None or (protocol == "mks" and not request.version.matches("2.8")):
        raise common.invalid_field("protocol", protocol, f"{protocol!r} is not one of "
                                   "the console protocols")
    if kind not in types:
        raise faults.BadRequest(f"Unsupported console type {kind} for protocol {protocol}")
    instance = get_instance(request, server_id)
    if not instance.get("host") or instance.get("vm_state") != "active":
        raise faults.Conflict(f"Instance {instance['uuid']} is not ready")
    token = green.random_uuid()
    separator = "&" if "?" in types[kind] else "?"
    url = (f"{types[kind]}{separator}path=%3Ftoken%3D{token}" if protocol == "vnc"
           else f"{types[kind]}?token={token}")
    return Reply(200, {"remote_console": {"protocol": protocol, "type": kind, "url": url}})


def _uptime(instance: dict[str, Any]) -> int:
    launched = common.epoch_seconds(instance.get("launched_at"))
    return max(0, int(green.wallclock() - launched)) if launched is not None else 0


def diagnostics(request: APIRequest, server_id: str) -> Reply:
    """``GET /servers/{id}/diagnostics`` (admin): 409 until the server has a host."""
    instance = get_instance(request, server_id)  # a 404 before the policy, as in Nova
    request.require_admin("os_compute_api:os-server-diagnostics")
    if not instance.get("host"):
        raise faults.Conflict(f"Instance {instance['uuid']} is not ready yet.")
    vcpus = int(instance.get("vcpus") or 1)
    memory_kib = int(instance.get("memory_mb") or 0) * 1024
    macs = [entry.get("OS-EXT-IPS-MAC:mac_addr") for network in
            addresses_for(instance, floating=False).values() for entry in network]
    if not request.version.matches("2.48"):
        legacy: dict[str, Any] = {f"cpu{n}_time": 17300000000 for n in range(vcpus)}
        legacy.update({"memory": memory_kib, "vda_errors": -1, "vda_read": 262144,
                       "vda_read_req": 112, "vda_write": 5778432, "vda_write_req": 488})
        for index, _mac in enumerate(macs):
            legacy.update({f"vnet{index}_{key}": value for key, value in (
                ("rx", 2070139), ("rx_drop", 0), ("rx_errors", 0), ("rx_packets", 26701),
                ("tx", 140208), ("tx_drop", 0), ("tx_errors", 0), ("tx_packets", 662))})
        return Reply(200, legacy)
    body = {
        "state": _STATES.get(int(instance.get("power_state") or 0), "pending"),
        "driver": "libvirt", "hypervisor": "kvm", "hypervisor_os": "ubuntu",
        "uptime": _uptime(instance),
        "config_drive": bool(instance.get("config_drive")),
        "num_cpus": vcpus, "num_nics": len(macs), "num_disks": 1,
        "memory_details": {"maximum": memory_kib, "used": 0},
        "cpu_details": [{"id": n, "time": 17300000000, "utilisation": 15}
                        for n in range(vcpus)],
        "nic_details": [{"mac_address": mac, "rx_octets": 2070139, "rx_errors": 0,
                         "rx_drop": 0, "rx_packets": 26701, "rx_rate": None,
                         "tx_octets": 140208, "tx_errors": 0, "tx_drop": 0,
                         "tx_packets": 662, "tx_rate": None} for mac in macs],
        "disk_details": [{"read_bytes": 262144, "read_requests": 112,
                          "write_bytes": 5778432, "write_requests": 488,
                          "errors_count": 1}],
    }
    return Reply(200, body)
