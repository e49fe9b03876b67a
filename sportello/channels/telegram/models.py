"""Telegram transport bookkeeping: updates already handled, outbox parts already sent.

Not domain data — no text, no person — only ids, so a redelivered update is not answered twice
and a desk message re-sent after a crash is dropped (the outbox is at-least-once).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from sportello.db.base import Base, UTCDateTime, stamp


class TelegramUpdate(Base):
    __tablename__ = "telegram_updates"
    __table_args__ = (Index("ix_telegram_updates_received_at", "received_at"),)

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=stamp)


class TelegramDelivery(Base):
    __tablename__ = "telegram_deliveries"
    __table_args__ = (Index("ix_telegram_deliveries_sent_at", "sent_at"),)

    # The outbox idempotency key plus the part number ("<key>#0" text, "<key>#1" the .ics).
    part_key: Mapped[str] = mapped_column(String(140), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=stamp)
