"""The block-storage service's volumes (Cinder's ``volumes``, with the one attachment a
volume may have).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "volumes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=255), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=255), nullable=False),
        sa.Column("instance_uuid", sa.String(length=255), nullable=True),
        sa.Column("attachment_id", sa.String(length=255), nullable=True),
        sa.Column("device", sa.String(length=255), nullable=True),
        sa.Column("delete_on_termination", sa.SmallInteger(), server_default="0",
                  nullable=False),
        sa.Column("attached_at", sa.String(length=26), nullable=True),
        sa.Column("created_at", sa.String(length=26), nullable=True),
        sa.Column("updated_at", sa.String(length=26), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
        sqlite_autoincrement=True,
    )
    op.create_index("volumes_project", "volumes", ["project_id"])
    op.create_index("volumes_instance", "volumes", ["instance_uuid"])


def downgrade() -> None:
    op.drop_index("volumes_instance", table_name="volumes")
    op.drop_index("volumes_project", table_name="volumes")
    op.drop_table("volumes")
