"""The network service's floating IPs (Neutron's ``floatingips``).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "floating_ips",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=255), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("network_id", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("instance_uuid", sa.String(length=255), nullable=True),
        sa.Column("fixed_address", sa.String(length=64), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.String(length=26), nullable=True),
        sa.Column("updated_at", sa.String(length=26), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
        sa.UniqueConstraint("address", name="uniq_floating_ips0address"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
        sqlite_autoincrement=True,
    )
    op.create_index("floating_ips_project", "floating_ips", ["project_id"])
    op.create_index("floating_ips_instance", "floating_ips", ["instance_uuid"])


def downgrade() -> None:
    op.drop_index("floating_ips_instance", table_name="floating_ips")
    op.drop_index("floating_ips_project", table_name="floating_ips")
    op.drop_table("floating_ips")
