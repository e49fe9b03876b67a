"""intent examples added by staff from the admin's gaps view

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from sportello.db.base import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intent_examples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("intent", sa.String(20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source_message_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intent_examples")),
    )
    op.create_index("ix_intent_examples_created_at", "intent_examples", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_intent_examples_created_at", table_name="intent_examples")
    op.drop_table("intent_examples")
