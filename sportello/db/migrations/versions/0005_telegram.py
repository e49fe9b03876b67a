"""telegram: updates already handled, outbox parts already sent

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from sportello.db.base import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "telegram_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_telegram_updates")),
    )
    op.create_index("ix_telegram_updates_received_at", "telegram_updates", ["received_at"])
    op.create_table(
        "telegram_deliveries",
        sa.Column("part_key", sa.String(140), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("part_key", name=op.f("pk_telegram_deliveries")),
    )
    op.create_index("ix_telegram_deliveries_sent_at", "telegram_deliveries", ["sent_at"])


def downgrade() -> None:
    op.drop_index("ix_telegram_deliveries_sent_at", table_name="telegram_deliveries")
    op.drop_table("telegram_deliveries")
    op.drop_index("ix_telegram_updates_received_at", table_name="telegram_updates")
    op.drop_table("telegram_updates")
