"""Helpers shared by the scheduler and its callers (the conductor's reschedules).

Owns the translation of a flavor into placement resources, the allocation request of a
selection, and the claim of a selected host or alternate (the client side of claims, as
``nova/scheduler/utils.py`` has it). Must not know about RPC or filters.
"""

from __future__ import annotations

from typing import Any

#: Placement's allocation request microversion carried by selections (as Nova's).
ALLOCATION_REQUEST_VERSION = "1.29"

STANDARD_RESOURCE_CLASSES = ("VCPU", "MEMORY_MB", "DISK_GB")


def resources_from_flavor(flavor: dict[str, Any]) -> dict[str, int]:
    """Placement resources one instance of ``flavor`` consumes.

    ``VCPU = vcpus``, ``MEMORY_MB = memory_mb``, ``DISK_GB = root_gb + ephemeral_gb +
    ceil(swap / 1024)`` (swap is in MB), as Nova's ``resources_from_flavor``. Flavor
    extra specs ``resources:<CLASS>=<amount>`` override a class (``0`` removes it), as in
    Nova. Classes with amount 0 are left out.
    """
    swap_gb = (int(flavor.get("swap") or 0) + 1023) // 1024
    resources = {
        "VCPU": int(flavor.get("vcpus") or 0),
        "MEMORY_MB": int(flavor.get("memory_mb") or 0),
        "DISK_GB": int(flavor.get("root_gb") or 0) + int(flavor.get("ephemeral_gb") or 0)
        + swap_gb,
    }
    for key, value in (flavor.get("extra_specs") or {}).items():
        if key.startswith("resources:"):
            try:
                resources[key[len("resources:"):]] = int(value)
            except (TypeError, ValueError):
                continue
    return {rc: amount for rc, amount in resources.items() if amount > 0}


def resources_from_request_spec(request_spec: dict[str, Any]) -> dict[str, int]:
    """Resources of one instance of the request: its ``flavor``'s (see above)."""
    return resources_from_flavor(request_spec.get("flavor") or {})


def allocation_request(rp_uuid: str, resources: dict[str, int]) -> dict[str, Any]:
    """Placement's allocation request body for one provider."""
    return {"allocations": {rp_uuid: {"resources": dict(resources)}}}


def claim_resources(
    db: Any,
    instance_uuid: str,
    selection: dict[str, Any],
    project_id: str | None = None,
    user_id: str | None = None,
) -> bool:
    """Claim what ``selection``'s allocation request asks for, for ``instance_uuid``.

    This is how a reschedule claims an alternate (Nova's conductor calls
    ``scheduler_utils.claim_resources`` with the alternate's allocation request). The
    claim is atomic and replaces the instance's current allocations; returns False when
    the host has no room any more (nothing changed then).
    """
    request = selection.get("allocation_request") or {}
    allocations = request.get("allocations") or {}
    if not allocations:
        return False
    # One provider per selection in nova-sim (no nested or sharing providers).
    rp_uuid, body = next(iter(allocations.items()))
    return db.claim_resources(
        instance_uuid, rp_uuid, body.get("resources") or {}, project_id, user_id
    )


def compute_node_inventory(
    node: dict[str, Any], reserved_host_memory_mb: int = 0, reserved_host_disk_gb: int = 0
) -> dict[str, dict[str, Any]]:
    """The placement inventory a compute node reports (Nova's resource tracker does the
    same from the driver's figures): VCPU, MEMORY_MB and DISK_GB with the node's
    allocation ratios and the reserved amounts."""
    return {
        "VCPU": {
            "total": int(node.get("vcpus") or 0),
            "allocation_ratio": float(node.get("cpu_allocation_ratio") or 1.0),
        },
        "MEMORY_MB": {
            "total": int(node.get("memory_mb") or 0),
            "reserved": reserved_host_memory_mb,
            "allocation_ratio": float(node.get("ram_allocation_ratio") or 1.0),
        },
        "DISK_GB": {
            "total": int(node.get("local_gb") or 0),
            "reserved": reserved_host_disk_gb,
            "allocation_ratio": float(node.get("disk_allocation_ratio") or 1.0),
        },
    }
