"""The initial schema: services, compute nodes, flavors, instances and their faults and
actions, placement, request specs and server groups.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

#: A JSON document (MEDIUMTEXT on MariaDB, whose TEXT stops at 64 KiB).
DOCUMENT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "allocations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("consumer_uuid", sa.String(length=255), nullable=False),
        sa.Column("rp_uuid", sa.String(length=255), nullable=False),
        sa.Column("resource_class", sa.String(length=255), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.String(length=26), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
        sqlite_autoincrement=True,
    )
    op.create_index("allocations_consumer", "allocations", ["consumer_uuid"])
    op.create_index("allocations_rp", "allocations", ["rp_uuid"])

    op.create_table(
        "change_sequence",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.CheckConstraint("id = 1", name="change_sequence_one_row"),
        sa.PrimaryKeyConstraint("id"),
        mysql_engine="InnoDB",
    )
    op.bulk_insert(
        sa.table("change_sequence", sa.column("id"), sa.column("value")),
        [{"id": 1, "value": 0}],
    )
    op.create_table(
        "compute_nodes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=255), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("hypervisor_hostname", sa.String(length=255), nullable=False),
        sa.Column("vcpus", sa.Integer(), server_default="0", nullable=False),
        sa.Column("memory_mb", sa.Integer(), server_default="0", nullable=False),
        sa.Column("local_gb", sa.Integer(), server_default="0", nullable=False),
        sa.Column("vcpus_used", sa.Integer(), server_default="0", nullable=False),
        sa.Column("memory_mb_used", sa.Integer(), server_default="0", nullable=False),
        sa.Column("local_gb_used", sa.Integer(), server_default="0", nullable=False),
        sa.Column("running_vms", sa.Integer(), server_default="0", nullable=False),
        sa.Column("free_ram_mb", sa.Integer(), server_default="0", nullable=False),
        sa.Column("free_disk_gb", sa.Integer(), server_default="0", nullable=False),
        sa.Column("current_workload", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cpu_allocation_ratio", sa.Float(), server_default="16.0", nullable=False),
        sa.Column("ram_allocation_ratio", sa.Float(), server_default="1.5", nullable=False),
        sa.Column("disk_allocation_ratio", sa.Float(), server_default="1.0", nullable=False),
        sa.Column("hypervisor_type", sa.String(length=255), server_default="fake", nullable=False),
        sa.Column("hypervisor_version", sa.Integer(), server_default="1000", nullable=False),
        sa.Column("host_ip", sa.String(length=255), nullable=True),
        sa.Column("stats", DOCUMENT, nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("change_seq", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.String(length=26), nullable=True),
        sa.Column("updated_at", sa.String(length=26), nullable=True),
        sa.Column("deleted_at", sa.String(length=26), nullable=True),
        sa.Column("deleted", sa.SmallInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
        sqlite_autoincrement=True,
    )
    op.create_index("compute_nodes_change_seq", "compute_nodes", ["change_seq"])
    op.create_index(
        "compute_nodes_host_node", "compute_nodes", ["host", "hypervisor_hostname", "deleted"]
    )
    op.create_index("compute_nodes_updated_at", "compute_nodes", ["updated_at"])

    op.create_table(
        "flavors",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("flavorid", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("vcpus", sa.Integer(), nullable=False),
        sa.Column("memory_mb", sa.Integer(), nullable=False),
        sa.Column("root_gb", sa.Integer(), server_default="0", nullable=False),
        sa.Column("ephemeral_gb", sa.Integer(), server_default="0", nullable=False),
        sa.Column("swap", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rxtx_factor", sa.Float(), server_default="1.0", nullable=False),
        sa.Column("is_public", sa.SmallInteger(), server_default="1", nullable=False),
        sa.Column("disabled", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("extra_specs", DOCUMENT, nullable=False),
        sa.Column("created_at", sa.String(length=26), nullable=True),
        sa.Column("updated_at", sa.String(length=26), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("flavorid"),
        sa.UniqueConstraint("name"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
        sqlite_autoincrement=True,
    )
    op.create_table(
        "instance_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("instance_uuid", sa.String(length=255), nullable=False),
        sa.Column("request_id", sa.String(length=255), nullable=True),
        sa.Column("action", sa.String(length=255), nullable=True),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("start_time", sa.String(length=26), nullable=True),
        sa.Column("finish_time", sa.String(length=26), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.String(length=26), nullable=True),
        sa.Column("updated_at", sa.String(length=26), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
        sqlite_autoincrement=True,
    )
    op.create_index(
        "instance_actions_instance", "instance_actions", ["instance_uuid", "request_id"]
    )

    op.create_table(
        "instance_actions_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=255), nullable=True),
        sa.Column("start_time", sa.String(length=26), nullable=True),
        sa.Column("finish_time", sa.String(length=26), nullable=True),
        sa.Column("result", sa.String(length=255), nullable=True),
        sa.Column("traceback", DOCUMENT, nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("created_at", sa.String(length=26), nullable=True),
        sa.Column("updated_at", sa.String(length=26), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
        sqlite_autoincrement=True,
    )
    op.create_index("instance_actions_events_action", "instance_actions_events", ["action_id"])

    op.create_table(
        "instance_faults",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("instance_uuid", sa.String(length=255), nullable=False),
        sa.Column("code", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("details", DOCUMENT, nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.String(length=26), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
        sqlite_autoincrement=True,
    )
    op.create_index("instance_faults_instance", "instance_faults", ["instance_uuid"])

    op.create_table(
        "instance_group_member",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("group_uuid", sa.String(length=255), nullable=False),
        sa.Column("instance_uuid", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.String(length=26), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("group_uuid", "instance_uuid", name="instance_group_member_unique"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
        sqlite_autoincrement=True,
    )
    op.create_index("instance_group_member_instance", "instance_group_member", ["instance_uuid"])

    op.create_table(
        "instance_groups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("policy", sa.String(length=255), nullable=False),
        sa.Column("rules", DOCUMENT, nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.String(length=26), nullable=True),
        sa.Column("updated_at", sa.String(length=26), nullable=True),
        sa.Column("deleted_at", sa.String(length=26), nullable=True),
        sa.Column("deleted", sa.SmallInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
        sqlite_autoincrement=True,
    )
    op.create_table(
        "instances",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("display_description", sa.Text(), nullable=True),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("image_ref", sa.String(length=255), nullable=True),
        sa.Column("flavor", DOCUMENT, nullable=True),
        sa.Column("instance_type_id", sa.Integer(), nullable=True),
        sa.Column("vcpus", sa.Integer(), nullable=True),
        sa.Column("memory_mb", sa.Integer(), nullable=True),
        sa.Column("root_gb", sa.Integer(), nullable=True),
        sa.Column("ephemeral_gb", sa.Integer(), nullable=True),
        sa.Column("vm_state", sa.String(length=255), nullable=True),
        sa.Column("task_state", sa.String(length=255), nullable=True),
        sa.Column("power_state", sa.Integer(), server_default="0", nullable=False),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("node", sa.String(length=255), nullable=True),
        sa.Column("launched_on", sa.String(length=255), nullable=True),
        sa.Column("availability_zone", sa.String(length=255), nullable=True),
        sa.Column("launched_at", sa.String(length=26), nullable=True),
        sa.Column("terminated_at", sa.String(length=26), nullable=True),
        sa.Column("metadata", DOCUMENT, nullable=False),
        sa.Column("system_metadata", DOCUMENT, nullable=False),
        sa.Column("security_groups", DOCUMENT, nullable=False),
        sa.Column("info_cache", DOCUMENT, nullable=False),
        sa.Column("reservation_id", sa.String(length=255), nullable=True),
        sa.Column("launch_index", sa.Integer(), server_default="0", nullable=False),
        sa.Column("key_name", sa.String(length=255), nullable=True),
        sa.Column("key_data", sa.Text(), nullable=True),
        sa.Column("user_data", DOCUMENT, nullable=True),
        sa.Column("hostname", sa.String(length=255), nullable=True),
        sa.Column("config_drive", sa.String(length=255), server_default="", nullable=False),
        sa.Column("access_ip_v4", sa.String(length=255), nullable=True),
        sa.Column("access_ip_v6", sa.String(length=255), nullable=True),
        sa.Column("locked", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("locked_by", sa.String(length=255), nullable=True),
        sa.Column("progress", sa.Integer(), server_default="0", nullable=False),
        sa.Column("root_device_name", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.String(length=26), nullable=True),
        sa.Column("updated_at", sa.String(length=26), nullable=True),
        sa.Column("deleted_at", sa.String(length=26), nullable=True),
        sa.Column("deleted", sa.SmallInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
        sqlite_autoincrement=True,
    )
    op.create_index("instances_created", "instances", ["created_at", "id"])
    op.create_index("instances_host", "instances", ["host", "deleted"])
    op.create_index("instances_project", "instances", ["project_id", "deleted"])

    op.create_table(
        "inventories",
        sa.Column("rp_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("resource_class", sa.String(length=255), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), server_default="0", nullable=False),
        sa.Column("min_unit", sa.Integer(), server_default="1", nullable=False),
        sa.Column("max_unit", sa.Integer(), nullable=False),
        sa.Column("step_size", sa.Integer(), server_default="1", nullable=False),
        sa.Column("allocation_ratio", sa.Float(), server_default="1.0", nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("rp_id", "resource_class"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
        sqlite_with_rowid=False,
    )
    op.create_table(
        "request_specs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("instance_uuid", sa.String(length=255), nullable=False),
        sa.Column("spec", DOCUMENT, nullable=False),
        sa.Column("created_at", sa.String(length=26), nullable=True),
        sa.Column("updated_at", sa.String(length=26), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_uuid"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
        sqlite_autoincrement=True,
    )
    op.create_table(
        "resource_providers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("generation", sa.Integer(), server_default="0", nullable=False),
        sa.Column("change_seq", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.String(length=26), nullable=True),
        sa.Column("updated_at", sa.String(length=26), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
        sqlite_autoincrement=True,
    )
    op.create_index("resource_providers_change_seq", "resource_providers", ["change_seq"])

    op.create_table(
        "services",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=255), nullable=True),
        sa.Column("binary", sa.String(length=255), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=True),
        sa.Column("disabled", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("report_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_seen_up", sa.String(length=26), nullable=True),
        sa.Column("forced_down", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("availability_zone", sa.String(length=255), nullable=True),
        sa.Column("version", sa.Integer(), server_default="0", nullable=False),
        sa.Column("change_seq", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.String(length=26), nullable=True),
        sa.Column("updated_at", sa.String(length=26), nullable=True),
        sa.Column("deleted_at", sa.String(length=26), nullable=True),
        sa.Column("deleted", sa.SmallInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
        sqlite_autoincrement=True,
    )
    op.create_index("services_change_seq", "services", ["change_seq"])
    op.create_index("services_host_binary", "services", ["host", "binary", "deleted"])
    op.create_index("services_updated_at", "services", ["updated_at"])


def downgrade() -> None:
    op.drop_index("services_updated_at", table_name="services")
    op.drop_index("services_host_binary", table_name="services")
    op.drop_index("services_change_seq", table_name="services")

    op.drop_table("services")
    op.drop_index("resource_providers_change_seq", table_name="resource_providers")

    op.drop_table("resource_providers")
    op.drop_table("request_specs")
    op.drop_table("inventories")
    op.drop_index("instances_project", table_name="instances")
    op.drop_index("instances_host", table_name="instances")
    op.drop_index("instances_created", table_name="instances")

    op.drop_table("instances")
    op.drop_table("instance_groups")
    op.drop_index("instance_group_member_instance", table_name="instance_group_member")

    op.drop_table("instance_group_member")
    op.drop_index("instance_faults_instance", table_name="instance_faults")

    op.drop_table("instance_faults")
    op.drop_index("instance_actions_events_action", table_name="instance_actions_events")

    op.drop_table("instance_actions_events")
    op.drop_index("instance_actions_instance", table_name="instance_actions")

    op.drop_table("instance_actions")
    op.drop_table("flavors")
    op.drop_index("compute_nodes_updated_at", table_name="compute_nodes")
    op.drop_index("compute_nodes_host_node", table_name="compute_nodes")
    op.drop_index("compute_nodes_change_seq", table_name="compute_nodes")

    op.drop_table("compute_nodes")
    op.drop_table("change_sequence")
    op.drop_index("allocations_rp", table_name="allocations")
    op.drop_index("allocations_consumer", table_name="allocations")

    op.drop_table("allocations")
