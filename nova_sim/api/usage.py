"""``/os-simple-tenant-usage`` and ``/os-instance_usage_audit_log``: usage reports.

Owns Nova's simple tenant usage: for a period (``start``, ``end``: ISO times, default
now; a start after the end is a 400), each project's server hours and the vCPU, RAM and
disk hours they add up to, with each server's usage under ``detailed=1`` (the list, admin
only) or always (one project: one's own, or any for an admin). A server counts from its
``launched_at`` to its ``terminated_at`` (or the end of the period); servers never
launched do not count, and deleted ones are gone from nova-sim's view (Nova keeps them
in its reports until they are archived). Also owns the instance usage audit log (admin):
the last completed month before a time (``/os-instance_usage_audit_log/{before}``,
``"YYYY-MM-DD HH:MM:SS"``) and each compute host's audit task; nova-sim's computes do not
run that task (Nova's ``[DEFAULT] instance_usage_audit`` is off by default), so every
host is in ``hosts_not_run``. Must not know about RPC.
"""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import unquote

from nova_sim import green
from nova_sim.api import common, faults
from nova_sim.api.app import APIRequest, Reply, Router

_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")
_AUDIT_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f")


def register(router: Router, api) -> None:
    """Add the usage routes."""
    router.add("GET", "/os-simple-tenant-usage", index)
    router.add("GET", "/os-simple-tenant-usage/{tenant_id}", show)
    router.add("GET", "/os-instance_usage_audit_log", audit_index)
    router.add("GET", "/os-instance_usage_audit_log/{before}", audit_show)


def _now() -> datetime.datetime:
    return datetime.datetime.fromtimestamp(green.wallclock(), datetime.timezone.utc).replace(
        tzinfo=None)


def _parse(value: str | None, formats: tuple[str, ...]) -> datetime.datetime | None:
    if value is None:
        return None
    for form in formats:
        try:
            return datetime.datetime.strptime(value, form)
        except ValueError:
            continue
    return None


def _period(request: APIRequest) -> tuple[datetime.datetime, datetime.datetime]:
    now = _now()
    bounds = []
    for name in ("start", "end"):
        raw = request.param(name)
        moment = now if raw is None else _parse(raw, _FORMATS)
        if moment is None:
            raise faults.BadRequest(f"Invalid {name} time. Datetime is in invalid format: "
                                    f"{raw}")
        bounds.append(moment)
    start, end = bounds
    if start > end:
        raise faults.BadRequest("Invalid start time. The start time cannot occur after the "
                                "end time.")
    return start, end


def _moment(value: Any) -> datetime.datetime | None:
    seconds = common.epoch_seconds(value)
    if seconds is None:
        return None
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).replace(tzinfo=None)


def _server_usage(instance: dict[str, Any], start: datetime.datetime,
                  end: datetime.datetime, now: datetime.datetime) -> dict[str, Any] | None:
    launched = _moment(instance.get("launched_at"))
    terminated = _moment(instance.get("terminated_at"))
    if launched is None or launched >= end or (terminated is not None and terminated < start):
        return None
    until = min(end, terminated) if terminated is not None else end
    hours = max(0.0, (until - max(start, launched)).total_seconds() / 3600)
    flavor = instance.get("flavor") or {}
    return {
        "instance_id": instance["uuid"], "name": instance.get("display_name") or "",
        "hours": hours, "memory_mb": int(instance.get("memory_mb") or 0),
        "local_gb": int(instance.get("root_gb") or 0) + int(instance.get("ephemeral_gb") or 0),
        "vcpus": int(instance.get("vcpus") or 0), "tenant_id": instance.get("project_id"),
        "flavor": flavor.get("name") if isinstance(flavor, dict) else "",
        "started_at": launched.isoformat(),
        "ended_at": terminated.isoformat() if terminated else None,
        "state": "terminated" if terminated else instance.get("vm_state"),
        "uptime": int(((terminated or now) - launched).total_seconds()),
    }


def _usages(request: APIRequest, project_id: str | None, start: datetime.datetime,
            end: datetime.datetime) -> dict[str, dict[str, Any]]:
    filters = {"project_id": project_id} if project_id else {}
    instances = request.api.compute_api.get_all(request.context, filters=filters)
    now = _now()
    found: dict[str, dict[str, Any]] = {}
    for instance in instances:
        usage = _server_usage(instance, start, end, now)
        if usage is None:
            continue
        total = found.setdefault(usage["tenant_id"], {
            "tenant_id": usage["tenant_id"], "server_usages": [], "total_hours": 0.0,
            "total_vcpus_usage": 0.0, "total_memory_mb_usage": 0.0,
            "total_local_gb_usage": 0.0, "start": start.isoformat(), "stop": end.isoformat()})
        total["server_usages"].append(usage)
        total["total_hours"] += usage["hours"]
        total["total_vcpus_usage"] += usage["hours"] * usage["vcpus"]
        total["total_memory_mb_usage"] += usage["hours"] * usage["memory_mb"]
        total["total_local_gb_usage"] += usage["hours"] * usage["local_gb"]
    return found


def index(request: APIRequest) -> Reply:
    """``GET /os-simple-tenant-usage`` (admin): every project's usage in the period."""
    if request.path.endswith("/"):  # Nova has no route for an empty tenant id
        raise faults.NotFound()
    request.require_admin("os_compute_api:os-simple-tenant-usage:list")
    start, end = _period(request)
    detailed = common.bool_from_string(request.param("detailed") or "0")
    usages = list(_usages(request, None, start, end).values())
    if not detailed:
        for usage in usages:
            del usage["server_usages"]
    return Reply(200, {"tenant_usages": usages})


def show(request: APIRequest, tenant_id: str) -> Reply:
    """``GET /os-simple-tenant-usage/{tenant_id}``: one project's usage, its servers'
    included (another project's: admins only)."""
    if tenant_id != request.context.project_id:
        request.require_admin("os_compute_api:os-simple-tenant-usage:show")
    start, end = _period(request)
    usage = _usages(request, tenant_id, start, end).get(tenant_id)
    if usage is None:
        usage = {"tenant_id": tenant_id, "server_usages": [], "total_hours": 0,
                 "total_vcpus_usage": 0, "total_memory_mb_usage": 0,
                 "total_local_gb_usage": 0, "start": start.isoformat(),
                 "stop": end.isoformat()}
    return Reply(200, {"tenant_usage": usage})


def _last_month(before: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime]:
    """Nova's ``last_completed_audit_period`` with the default unit, a month."""
    end = datetime.datetime(before.year, before.month, 1)
    start = datetime.datetime(end.year - (end.month == 1), 12 if end.month == 1 else
                              end.month - 1, 1)
    return start, end


def _audit_log(request: APIRequest, before: datetime.datetime) -> dict[str, Any]:
    begin, end = _last_month(before)
    hosts = sorted({s["host"] for s in request.api.compute_api.service_list(
        request.context, binary="nova-compute")})
    return {
        "hosts_not_run": hosts, "log": {}, "num_hosts": len(hosts), "num_hosts_done": 0,
        "num_hosts_not_run": len(hosts), "num_hosts_running": 0,
        "overall_status": f"0 of {len(hosts)} hosts done. 0 errors.",
        "period_beginning": str(begin), "period_ending": str(end), "total_errors": 0,
        "total_instances": 0,
    }


def audit_index(request: APIRequest) -> Reply:
    """``GET /os-instance_usage_audit_log`` (admin): the last completed month."""
    request.require_admin("os_compute_api:os-instance-usage-audit-log:list")
    return Reply(200, {"instance_usage_audit_logs": _audit_log(request, _now())})


def audit_show(request: APIRequest, before: str) -> Reply:
    """``GET /os-instance_usage_audit_log/{before}`` (admin): the last month completed
    before that time; 400 when it is not ``YYYY-MM-DD HH:MM:SS[.ffffff]``."""
    request.require_admin("os_compute_api:os-instance-usage-audit-log:show")
    moment = _parse(unquote(before), _AUDIT_FORMATS)
    if moment is None:
        raise faults.BadRequest(f"Invalid timestamp for date {before}")
    return Reply(200, {"instance_usage_audit_log": _audit_log(request, moment)})
