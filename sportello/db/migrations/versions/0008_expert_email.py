"""experts: e-mail address and what each expert wants to receive by e-mail

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-02

Merge note: 0006 and 0007 land from other branches; this revision is re-pointed to the last of
them when the branches are merged (the columns do not depend on them).
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("experts") as batch:
        batch.add_column(sa.Column("email", sa.String(254), nullable=True))
        batch.add_column(
            sa.Column(
                "email_new_tickets", sa.String(12), nullable=False, server_default="immediate"
            )
        )
        batch.add_column(
            sa.Column("email_digest_hour", sa.SmallInteger(), nullable=False, server_default="8")
        )
        batch.add_column(
            sa.Column("email_bookings", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(
            sa.Column("email_messages", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(
            sa.Column("email_agenda", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("email_agenda_hour", sa.SmallInteger(), nullable=False, server_default="18")
        )


def downgrade() -> None:
    with op.batch_alter_table("experts") as batch:
        for name in (
            "email_agenda_hour",
            "email_agenda",
            "email_messages",
            "email_bookings",
            "email_digest_hour",
            "email_new_tickets",
            "email",
        ):
            batch.drop_column(name)
