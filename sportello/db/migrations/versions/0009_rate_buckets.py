"""rate_buckets: the volunteers' rate limit, shared by every worker and the bot

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Merge note: if another branch also adds a 0009, re-point this one after it (the table
depends on nothing).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_buckets",
        sa.Column("bucket", sa.String(64), nullable=False),
        sa.Column("due", sa.Float(), nullable=False),
        sa.Column("told_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_rate_buckets")),
    )
    op.create_index("ix_rate_buckets_due", "rate_buckets", ["due"])


def downgrade() -> None:
    op.drop_index("ix_rate_buckets_due", table_name="rate_buckets")
    op.drop_table("rate_buckets")
