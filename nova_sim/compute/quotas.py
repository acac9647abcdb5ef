"""Quotas: which limits apply to a project (Nova's ``DbQuotaDriver``, ``nova/quota.py``).

Owns the quota resources and how a limit is found: the ``[quota]`` option (Nova's
defaults), overridden by the ``default`` quota class when an admin set it, overridden by
the project's own limit, overridden by its user's. -1 means unlimited. Besides the
resources nova-sim counts (``instances``, ``cores``, ``ram``, ``metadata_items``,
``key_pairs``, ``server_groups``, ``server_group_members``) it keeps the ones older
microversions still show: ``fixed_ips``, ``floating_ips``, ``security_groups``,
``security_group_rules`` (gone at 2.36) and the ``injected_file*`` ones (gone at 2.57),
with Nova's old defaults; nothing counts them. The rows are ``nova_sim.db.quotas``'.
Must not know about HTTP.
"""

from __future__ import annotations

from typing import Any

#: The resources with a ``[quota]`` option of the same name.
RESOURCES = ("instances", "cores", "ram", "metadata_items", "key_pairs", "server_groups",
             "server_group_members")
#: Resources only microversions below 2.36 show (the network proxies), Nova's defaults.
NETWORK_RESOURCES = {"fixed_ips": -1, "floating_ips": 10, "security_groups": 10,
                     "security_group_rules": 20}
#: Resources only microversions below 2.57 show (personality files), Nova's defaults.
INJECTED_RESOURCES = {"injected_files": 5, "injected_file_content_bytes": 10240,
                      "injected_file_path_bytes": 255}
ALL_RESOURCES = RESOURCES + tuple(NETWORK_RESOURCES) + tuple(INJECTED_RESOURCES)
DEFAULT_CLASS = "default"


class QuotaAPI:
    """The limits of projects and quota classes over ``db`` and ``conf``'s ``[quota]``."""

    def __init__(self, conf: Any, db: Any):
        self.conf = conf
        self.db = db

    def _options(self) -> dict[str, int]:
        limits = {name: int(getattr(self.conf.quota, name)) for name in RESOURCES}
        limits.update(NETWORK_RESOURCES)
        limits.update(INJECTED_RESOURCES)
        return limits

    def defaults(self) -> dict[str, int]:
        """Every project's limits unless set otherwise: the options and the ``default``
        quota class."""
        limits = self._options()
        if self.db is not None:
            limits.update(self.db.quota_class_get_all(DEFAULT_CLASS))
        return limits

    def class_limits(self, class_name: str) -> dict[str, int]:
        """The limits of a quota class (the defaults where it sets none)."""
        limits = self.defaults()
        if self.db is not None and class_name != DEFAULT_CLASS:
            limits.update(self.db.quota_class_get_all(class_name))
        return limits

    def limits(self, project_id: str, user_id: str | None = None) -> dict[str, int]:
        """The limits that apply to ``project_id`` (to its user ``user_id`` when given);
        one database transaction."""
        limits = self._options()
        if self.db is not None:
            for found in self.db.quota_get_effective(DEFAULT_CLASS, project_id,
                                                     user_id or ""):
                limits.update(found)
        return limits

    def limit(self, project_id: str | None, resource: str) -> int:
        """One limit of ``project_id`` (the default when it is None)."""
        if project_id is None:
            return self.defaults()[resource]
        return self.limits(project_id)[resource]

    def set_limits(self, project_id: str, limits: dict[str, int],
                   user_id: str | None = None) -> None:
        """Set limits of ``project_id`` (of its user ``user_id`` when given)."""
        self.db.quota_set(project_id, limits, user_id or "")

    def reset(self, project_id: str, user_id: str | None = None) -> None:
        """Forget the limits set for ``project_id`` (only its user's when given)."""
        self.db.quota_destroy_all(project_id, user_id)

    def set_class_limits(self, class_name: str, limits: dict[str, int]) -> None:
        """Set limits of a quota class (``default``: every project's defaults)."""
        self.db.quota_class_set(class_name, limits)
