"""Stored replies keep their citations as data only; the hand-over state carries a version.

Replies used to be stored with their numbered source list appended ("\\n\\nFonti:\\n[1] …"),
which the web then stripped with a regex. The body is now stored alone (the citations column
already holds the sources), so old rows lose the appended block here, once. Hand-over states
written before the typed model get `"version": 1` (same keys; the model reads both).

The intents helper's 0006 lands first at merge: re-point `down_revision` to it then.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SOURCES_BLOCK = re.compile(r"\n\n(?:Fonti|Sources):\n.*\Z", re.DOTALL)

messages = sa.table(
    "messages",
    sa.column("id", sa.Integer),
    sa.column("text", sa.Text),
    sa.column("citations", sa.JSON),
)
conversations = sa.table("conversations", sa.column("id", sa.Integer), sa.column("state", sa.JSON))


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(messages.c.id, messages.c.text, messages.c.citations)).all()
    for row in rows:
        if not row.citations:
            continue
        body = SOURCES_BLOCK.sub("", row.text)
        if body != row.text:
            bind.execute(messages.update().where(messages.c.id == row.id).values(text=body))
    for conv in bind.execute(sa.select(conversations.c.id, conversations.c.state)).all():
        state = dict(conv.state or {})
        flow = state.get("handover")
        if isinstance(flow, dict) and "version" not in flow:
            state["handover"] = {**flow, "version": 1}
            bind.execute(
                conversations.update().where(conversations.c.id == conv.id).values(state=state)
            )


def downgrade() -> None:
    # The stripped source lists are rebuilt by nobody: the citations column still holds them.
    pass
