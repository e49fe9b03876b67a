"""The rate limit's one table: per identity, when its next message is due (GCRA)."""

from __future__ import annotations

from sqlalchemy import Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from sportello.db.base import Base


class RateBucket(Base):
    """One identity (a browser, a Telegram chat, an IP address), hashed: no plain address or
    chat id is stored. Times are seconds since the epoch from the application's clock."""

    __tablename__ = "rate_buckets"
    __table_args__ = (Index("ix_rate_buckets_due", "due"),)

    bucket: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The "theoretical arrival time": the identity is `tolerance` seconds ahead of it at most.
    due: Mapped[float] = mapped_column(Float)
    # When the identity was last told it writes too fast (once per window on Telegram).
    told_at: Mapped[float | None] = mapped_column(Float, default=None)
