"""ORM model of the intent examples staff add from the admin (the gaps loop feeds the intents)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sportello.db.base import Base, UTCDateTime, stamp


class IntentExampleRow(Base):
    """One labelled utterance added by staff; joins prompts/intents/*.yaml at the next load."""

    __tablename__ = "intent_examples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    intent: Mapped[str] = mapped_column(String(20))  # an answering.intents.Intent value
    text: Mapped[str] = mapped_column(Text)  # as staff saved it (they may redact names)
    # The assistant reply the example came from; no foreign key, so retention and erasure of
    # the conversation never depend on this table (the text is a copy staff reviewed).
    source_message_id: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(Integer)  # the staff account's id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=stamp, index=True)
