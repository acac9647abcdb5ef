"""The image service's records: snapshots, backups and shelved images.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

#: A JSON document (MEDIUMTEXT on MariaDB, whose TEXT stops at 64 KiB).
DOCUMENT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "images",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=255), nullable=False),
        sa.Column("visibility", sa.String(length=255), server_default="private",
                  nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=True),
        sa.Column("protected", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("disk_format", sa.String(length=255), nullable=True),
        sa.Column("container_format", sa.String(length=255), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("min_disk", sa.Integer(), server_default="0", nullable=False),
        sa.Column("min_ram", sa.Integer(), server_default="0", nullable=False),
        sa.Column("checksum", sa.String(length=255), nullable=True),
        sa.Column("properties", DOCUMENT, nullable=False),
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
    op.create_index("images_owner", "images", ["owner", "deleted"])


def downgrade() -> None:
    op.drop_index("images_owner", table_name="images")
    op.drop_table("images")
