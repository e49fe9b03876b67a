"""tickets: a web volunteer's optional e-mail address and the browser their mailed link bound

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

Both columns are personal data: erasure and retention clear them with the ticket's other ties
to the person (sportello/privacy/).
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("volunteer_email", sa.String(254), nullable=True))
        batch.add_column(sa.Column("chat_link_ref", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("chat_link_ref")
        batch.drop_column("volunteer_email")
