"""The tables of nova-sim's database as SQLAlchemy Core ``Table`` objects, and how columns
are shown.

Owns the current shape of every table and index (the alembic migrations in
``nova_sim/db/migrations/versions`` build it step by step; a test checks that the two
agree), and which columns hold JSON or booleans. The types are the portable subset that
SQLite, MariaDB/MySQL and PostgreSQL share:

- ids are integers given by the database (``AUTOINCREMENT`` on SQLite, so an id is never
  reused; ``AUTO_INCREMENT`` on MariaDB; an identity column on PostgreSQL);
- booleans are small integers (0/1) and timestamps fixed-width ISO strings
  (``"2026-01-01T00:00:05.000000"``), which sort as time does on every backend and cross
  the DBAPI without any conversion (``nova_sim.db.api`` shows them as ``bool`` and ``str``);
- JSON documents are text (``MEDIUMTEXT`` on MariaDB, whose ``TEXT`` stops at 64 KiB).

Must not know about anything but SQLAlchemy.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

metadata = sa.MetaData()

#: A short indexed string (MariaDB indexes need a length).
Name = sa.String(255)
#: A timestamp as a fixed-width ISO string.
Timestamp = sa.String(26)
#: A JSON document.
Document = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
#: A boolean stored as 0/1.
Flag = sa.SmallInteger

_ROWID = {"sqlite_autoincrement": True, "mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


def _timestamps(*names: str) -> list[sa.Column]:
    return [sa.Column(name, Timestamp) for name in names]


def _deleted() -> sa.Column:
    return sa.Column("deleted", Flag, nullable=False, server_default="0")


services = sa.Table(
    "services", metadata,
    _id(),
    sa.Column("uuid", Name),
    sa.Column("binary", Name, nullable=False),
    sa.Column("host", Name, nullable=False),
    sa.Column("topic", Name),
    sa.Column("disabled", Flag, nullable=False, server_default="0"),
    sa.Column("disabled_reason", sa.Text),
    sa.Column("report_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_seen_up", Timestamp),
    sa.Column("forced_down", Flag, nullable=False, server_default="0"),
    sa.Column("availability_zone", Name),
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("change_seq", sa.Integer, nullable=False, server_default="0"),
    *_timestamps("created_at", "updated_at", "deleted_at"),
    _deleted(),
    sa.Index("services_host_binary", "host", "binary", "deleted"),
    sa.Index("services_updated_at", "updated_at"),
    sa.Index("services_change_seq", "change_seq"),
    **_ROWID,
)

compute_nodes = sa.Table(
    "compute_nodes", metadata,
    _id(),
    sa.Column("uuid", Name, nullable=False, unique=True),
    sa.Column("host", Name, nullable=False),
    sa.Column("hypervisor_hostname", Name, nullable=False),
    sa.Column("vcpus", sa.Integer, nullable=False, server_default="0"),
    sa.Column("memory_mb", sa.Integer, nullable=False, server_default="0"),
    sa.Column("local_gb", sa.Integer, nullable=False, server_default="0"),
    sa.Column("vcpus_used", sa.Integer, nullable=False, server_default="0"),
    sa.Column("memory_mb_used", sa.Integer, nullable=False, server_default="0"),
    sa.Column("local_gb_used", sa.Integer, nullable=False, server_default="0"),
    sa.Column("running_vms", sa.Integer, nullable=False, server_default="0"),
    sa.Column("free_ram_mb", sa.Integer, nullable=False, server_default="0"),
    sa.Column("free_disk_gb", sa.Integer, nullable=False, server_default="0"),
    sa.Column("current_workload", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cpu_allocation_ratio", sa.Float, nullable=False, server_default="16.0"),
    sa.Column("ram_allocation_ratio", sa.Float, nullable=False, server_default="1.5"),
    sa.Column("disk_allocation_ratio", sa.Float, nullable=False, server_default="1.0"),
    sa.Column("hypervisor_type", Name, nullable=False, server_default="fake"),
    sa.Column("hypervisor_version", sa.Integer, nullable=False, server_default="1000"),
    sa.Column("host_ip", Name),
    sa.Column("stats", Document, nullable=False),
    sa.Column("service_id", sa.Integer),
    sa.Column("change_seq", sa.Integer, nullable=False, server_default="0"),
    *_timestamps("created_at", "updated_at", "deleted_at"),
    _deleted(),
    sa.Index("compute_nodes_change_seq", "change_seq"),
    sa.Index("compute_nodes_host_node", "host", "hypervisor_hostname", "deleted"),
    sa.Index("compute_nodes_updated_at", "updated_at"),
    **_ROWID,
)

flavors = sa.Table(
    "flavors", metadata,
    _id(),
    sa.Column("flavorid", Name, nullable=False, unique=True),
    sa.Column("name", Name, nullable=False, unique=True),
    sa.Column("vcpus", sa.Integer, nullable=False),
    sa.Column("memory_mb", sa.Integer, nullable=False),
    sa.Column("root_gb", sa.Integer, nullable=False, server_default="0"),
    sa.Column("ephemeral_gb", sa.Integer, nullable=False, server_default="0"),
    sa.Column("swap", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rxtx_factor", sa.Float, nullable=False, server_default="1.0"),
    sa.Column("is_public", Flag, nullable=False, server_default="1"),
    sa.Column("disabled", Flag, nullable=False, server_default="0"),
    sa.Column("description", sa.Text),
    sa.Column("extra_specs", Document, nullable=False),
    *_timestamps("created_at", "updated_at"),
    **_ROWID,
)

instances = sa.Table(
    "instances", metadata,
    _id(),
    sa.Column("uuid", Name, nullable=False, unique=True),
    sa.Column("display_name", Name),
    sa.Column("display_description", sa.Text),
    sa.Column("project_id", Name),
    sa.Column("user_id", Name),
    sa.Column("image_ref", Name),
    sa.Column("flavor", Document),
    sa.Column("instance_type_id", sa.Integer),
    sa.Column("vcpus", sa.Integer),
    sa.Column("memory_mb", sa.Integer),
    sa.Column("root_gb", sa.Integer),
    sa.Column("ephemeral_gb", sa.Integer),
    sa.Column("vm_state", Name),
    sa.Column("task_state", Name),
    sa.Column("power_state", sa.Integer, nullable=False, server_default="0"),
    sa.Column("host", Name),
    sa.Column("node", Name),
    sa.Column("launched_on", Name),
    sa.Column("availability_zone", Name),
    sa.Column("launched_at", Timestamp),
    sa.Column("terminated_at", Timestamp),
    sa.Column("metadata", Document, nullable=False),
    sa.Column("system_metadata", Document, nullable=False),
    sa.Column("security_groups", Document, nullable=False),
    sa.Column("info_cache", Document, nullable=False),
    sa.Column("reservation_id", Name),
    sa.Column("launch_index", sa.Integer, nullable=False, server_default="0"),
    sa.Column("key_name", Name),
    sa.Column("key_data", sa.Text),
    sa.Column("user_data", Document),
    sa.Column("hostname", Name),
    sa.Column("config_drive", Name, nullable=False, server_default=""),
    sa.Column("access_ip_v4", Name),
    sa.Column("access_ip_v6", Name),
    sa.Column("locked", Flag, nullable=False, server_default="0"),
    sa.Column("locked_by", Name),
    sa.Column("progress", sa.Integer, nullable=False, server_default="0"),
    sa.Column("root_device_name", Name),
    *_timestamps("created_at", "updated_at", "deleted_at"),
    _deleted(),
    sa.Index("instances_project", "project_id", "deleted"),
    sa.Index("instances_host", "host", "deleted"),
    sa.Index("instances_created", "created_at", "id"),
    **_ROWID,
)

instance_faults = sa.Table(
    "instance_faults", metadata,
    _id(),
    sa.Column("instance_uuid", Name, nullable=False),
    sa.Column("code", sa.Integer, nullable=False),
    sa.Column("message", sa.Text),
    sa.Column("details", Document),
    sa.Column("host", Name),
    sa.Column("created_at", Timestamp),
    sa.Index("instance_faults_instance", "instance_uuid"),
    **_ROWID,
)

instance_actions = sa.Table(
    "instance_actions", metadata,
    _id(),
    sa.Column("instance_uuid", Name, nullable=False),
    sa.Column("request_id", Name),
    sa.Column("action", Name),
    sa.Column("project_id", Name),
    sa.Column("user_id", Name),
    sa.Column("start_time", Timestamp),
    sa.Column("finish_time", Timestamp),
    sa.Column("message", sa.Text),
    *_timestamps("created_at", "updated_at"),
    sa.Index("instance_actions_instance", "instance_uuid", "request_id"),
    **_ROWID,
)

instance_actions_events = sa.Table(
    "instance_actions_events", metadata,
    _id(),
    sa.Column("action_id", sa.Integer, nullable=False),
    sa.Column("event", Name),
    sa.Column("start_time", Timestamp),
    sa.Column("finish_time", Timestamp),
    sa.Column("result", Name),
    sa.Column("traceback", Document),
    sa.Column("host", Name),
    sa.Column("details", sa.Text),
    *_timestamps("created_at", "updated_at"),
    sa.Index("instance_actions_events_action", "action_id"),
    **_ROWID,
)

resource_providers = sa.Table(
    "resource_providers", metadata,
    _id(),
    sa.Column("uuid", Name, nullable=False, unique=True),
    sa.Column("name", Name),
    sa.Column("generation", sa.Integer, nullable=False, server_default="0"),
    sa.Column("change_seq", sa.Integer, nullable=False, server_default="0"),
    *_timestamps("created_at", "updated_at"),
    sa.Index("resource_providers_change_seq", "change_seq"),
    **_ROWID,
)

#: One row: a counter bumped by every write that changes a service, a compute node, or a
#: provider's inventory or usage (the row's change_seq takes the new value). A writer
#: holds the counter's row lock until it commits, so numbers are given in commit order and
#: a reader that saw number N has seen every change up to N: a cache catches up exactly by
#: reading change_seq > N.
change_sequence = sa.Table(
    "change_sequence", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("value", sa.Integer, nullable=False),
    sa.CheckConstraint("id = 1", name="change_sequence_one_row"),
    mysql_engine="InnoDB",
)

#: Keyed by provider (clustered, WITHOUT ROWID on SQLite). ``capacity`` is
#: int((total - reserved) * allocation_ratio), and ``used`` is the sum of the allocations
#: against this inventory, kept in step by the claim / remove transactions. Together they
#: make candidates one scan with no aggregation.
inventories = sa.Table(
    "inventories", metadata,
    sa.Column("rp_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("resource_class", Name, primary_key=True),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("reserved", sa.Integer, nullable=False, server_default="0"),
    sa.Column("min_unit", sa.Integer, nullable=False, server_default="1"),
    sa.Column("max_unit", sa.Integer, nullable=False),
    sa.Column("step_size", sa.Integer, nullable=False, server_default="1"),
    sa.Column("allocation_ratio", sa.Float, nullable=False, server_default="1.0"),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("used", sa.Integer, nullable=False, server_default="0"),
    sqlite_with_rowid=False,
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)

allocations = sa.Table(
    "allocations", metadata,
    _id(),
    sa.Column("consumer_uuid", Name, nullable=False),
    sa.Column("rp_uuid", Name, nullable=False),
    sa.Column("resource_class", Name, nullable=False),
    sa.Column("used", sa.Integer, nullable=False),
    sa.Column("project_id", Name),
    sa.Column("user_id", Name),
    sa.Column("created_at", Timestamp),
    sa.Index("allocations_consumer", "consumer_uuid"),
    sa.Index("allocations_rp", "rp_uuid"),
    **_ROWID,
)

request_specs = sa.Table(
    "request_specs", metadata,
    _id(),
    sa.Column("instance_uuid", Name, nullable=False, unique=True),
    sa.Column("spec", Document, nullable=False),
    *_timestamps("created_at", "updated_at"),
    **_ROWID,
)

instance_groups = sa.Table(
    "instance_groups", metadata,
    _id(),
    sa.Column("uuid", Name, nullable=False, unique=True),
    sa.Column("name", Name),
    sa.Column("policy", Name, nullable=False),
    sa.Column("rules", Document, nullable=False),
    sa.Column("project_id", Name),
    sa.Column("user_id", Name),
    *_timestamps("created_at", "updated_at", "deleted_at"),
    _deleted(),
    **_ROWID,
)

instance_group_member = sa.Table(
    "instance_group_member", metadata,
    _id(),
    sa.Column("group_uuid", Name, nullable=False),
    sa.Column("instance_uuid", Name, nullable=False),
    sa.Column("created_at", Timestamp),
    sa.UniqueConstraint("group_uuid", "instance_uuid", name="instance_group_member_unique"),
    sa.Index("instance_group_member_instance", "instance_uuid"),
    **_ROWID,
)

key_pairs = sa.Table(
    "key_pairs", metadata,
    _id(),
    sa.Column("name", Name, nullable=False),
    sa.Column("user_id", Name, nullable=False),
    sa.Column("fingerprint", Name),
    sa.Column("public_key", sa.Text),
    sa.Column("type", sa.String(16), nullable=False, server_default="ssh"),
    *_timestamps("created_at", "updated_at"),
    sa.UniqueConstraint("user_id", "name", name="uniq_key_pairs0user_id0name"),
    **_ROWID,
)

flavor_projects = sa.Table(
    "flavor_projects", metadata,
    _id(),
    sa.Column("flavorid", Name, nullable=False),
    sa.Column("project_id", Name, nullable=False),
    sa.Column("created_at", Timestamp),
    sa.UniqueConstraint("flavorid", "project_id",
                        name="uniq_flavor_projects0flavorid0project_id"),
    **_ROWID,
)

#: The image service's records (Glance's ``images``): the snapshots and backups that
#: ``createImage``, ``createBackup`` and ``shelve`` make, and images created through
#: ``/image/v2/images``. The bytes are never kept (``size`` is recorded). The built-in
#: catalogue (``nova_sim.image``) is not stored.
images = sa.Table(
    "images", metadata,
    _id(),
    sa.Column("uuid", Name, nullable=False, unique=True),
    sa.Column("name", Name),
    sa.Column("status", Name, nullable=False),
    sa.Column("visibility", Name, nullable=False, server_default="private"),
    sa.Column("owner", Name),
    sa.Column("protected", Flag, nullable=False, server_default="0"),
    sa.Column("disk_format", Name),
    sa.Column("container_format", Name),
    sa.Column("size", sa.BigInteger),
    sa.Column("min_disk", sa.Integer, nullable=False, server_default="0"),
    sa.Column("min_ram", sa.Integer, nullable=False, server_default="0"),
    sa.Column("checksum", Name),
    sa.Column("properties", Document, nullable=False),
    *_timestamps("created_at", "updated_at", "deleted_at"),
    _deleted(),
    sa.Index("images_owner", "owner", "deleted"),
    **_ROWID,
)

quotas = sa.Table(
    "quotas", metadata,
    _id(),
    sa.Column("project_id", Name, nullable=False),
    sa.Column("user_id", Name, nullable=False, server_default=""),
    sa.Column("resource", Name, nullable=False),
    sa.Column("hard_limit", sa.Integer, nullable=False),
    sa.UniqueConstraint("project_id", "user_id", "resource",
                        name="uniq_quotas0project_id0user_id0resource"),
    **_ROWID,
)

quota_classes = sa.Table(
    "quota_classes", metadata,
    _id(),
    sa.Column("class_name", Name, nullable=False),
    sa.Column("resource", Name, nullable=False),
    sa.Column("hard_limit", sa.Integer, nullable=False),
    sa.UniqueConstraint("class_name", "resource",
                        name="uniq_quota_classes0class_name0resource"),
    **_ROWID,
)

aggregates = sa.Table(
    "aggregates", metadata,
    _id(),
    sa.Column("uuid", Name, nullable=False, unique=True),
    sa.Column("name", Name, nullable=False, unique=True),
    sa.Column("metadata", Document, nullable=False),
    *_timestamps("created_at", "updated_at"),
    **_ROWID,
)

aggregate_hosts = sa.Table(
    "aggregate_hosts", metadata,
    _id(),
    sa.Column("aggregate_id", sa.Integer, nullable=False),
    sa.Column("host", Name, nullable=False),
    sa.UniqueConstraint("aggregate_id", "host", name="uniq_aggregate_hosts0aggregate_id0host"),
    **_ROWID,
)

security_groups = sa.Table(
    "security_groups", metadata,
    _id(),
    sa.Column("uuid", Name, nullable=False, unique=True),
    sa.Column("name", Name, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("project_id", Name, nullable=False),
    sa.Column("created_at", Timestamp),
    sa.Index("security_groups_project", "project_id"),
    **_ROWID,
)

security_group_rules = sa.Table(
    "security_group_rules", metadata,
    _id(),
    sa.Column("uuid", Name, nullable=False, unique=True),
    sa.Column("parent_group_id", Name, nullable=False),
    sa.Column("protocol", sa.String(16)),
    sa.Column("from_port", sa.Integer),
    sa.Column("to_port", sa.Integer),
    sa.Column("cidr", sa.String(64)),
    sa.Column("group_id", Name),
    sa.Index("security_group_rules_parent", "parent_group_id"),
    **_ROWID,
)

tags = sa.Table(
    "tags", metadata,
    _id(),
    sa.Column("resource_id", Name, nullable=False),
    sa.Column("tag", sa.String(80), nullable=False),
    sa.UniqueConstraint("resource_id", "tag", name="uniq_tags0resource_id0tag"),
    **_ROWID,
)

#: The network service's floating IPs (Neutron's ``floatingips``): an address of the
#: external network held by a project, and the server (and its fixed address) it points
#: at when associated.
floating_ips = sa.Table(
    "floating_ips", metadata,
    _id(),
    sa.Column("uuid", Name, nullable=False, unique=True),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("network_id", Name, nullable=False),
    sa.Column("project_id", Name, nullable=False),
    sa.Column("instance_uuid", Name),
    sa.Column("fixed_address", sa.String(64)),
    sa.Column("description", Name),
    *_timestamps("created_at", "updated_at"),
    sa.UniqueConstraint("address", name="uniq_floating_ips0address"),
    sa.Index("floating_ips_project", "project_id"),
    sa.Index("floating_ips_instance", "instance_uuid"),
    **_ROWID,
)

#: The block-storage service's volumes (Cinder's ``volumes``): no data, a size, a status
#: and the one server a volume may be attached to.
volumes = sa.Table(
    "volumes", metadata,
    _id(),
    sa.Column("uuid", Name, nullable=False, unique=True),
    sa.Column("project_id", Name, nullable=False),
    sa.Column("user_id", Name),
    sa.Column("name", Name),
    sa.Column("description", Name),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("status", Name, nullable=False),
    sa.Column("instance_uuid", Name),
    sa.Column("attachment_id", Name),
    sa.Column("device", Name),
    sa.Column("delete_on_termination", Flag, nullable=False, server_default="0"),
    sa.Column("attached_at", Timestamp),
    *_timestamps("created_at", "updated_at"),
    sa.Index("volumes_project", "project_id"),
    sa.Index("volumes_instance", "instance_uuid"),
    **_ROWID,
)

#: Columns decoded from JSON, and columns shown as booleans, per table.
JSON_COLUMNS = {
    "compute_nodes": ("stats",),
    "flavors": ("extra_specs",),
    "instances": ("flavor", "metadata", "system_metadata", "security_groups", "info_cache"),
    "request_specs": ("spec",),
    "instance_groups": ("rules",),
    "images": ("properties",),
    "aggregates": ("metadata",),
}
BOOL_COLUMNS = {
    "services": ("disabled", "forced_down", "deleted"),
    "compute_nodes": ("deleted",),
    "flavors": ("is_public", "disabled"),
    "instances": ("locked", "deleted"),
    "instance_groups": ("deleted",),
    "images": ("protected", "deleted"),
    "volumes": ("delete_on_termination",),
}
#: JSON columns that are NOT NULL, and the empty document a new row gets when not given
#: (MariaDB refuses a default on a TEXT column, so the insert fills them).
JSON_DEFAULTS = {
    "compute_nodes": {"stats": "{}"},
    "flavors": {"extra_specs": "{}"},
    "instances": {
        "metadata": "{}", "system_metadata": "{}", "security_groups": "[]",
        "info_cache": "[]",
    },
    "instance_groups": {"rules": "{}"},
    "images": {"properties": "{}"},
    "aggregates": {"metadata": "{}"},
}
