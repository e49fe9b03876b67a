"""SQL of the rate limit: one atomic upsert per message, so several workers agree."""

from __future__ import annotations

from sqlalchemy import Insert, case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from sportello.ratelimit.models import RateBucket

TABLE = RateBucket.__table__


def _insert(session: Session) -> Insert:
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(RateBucket)
    return sqlite_insert(RateBucket)


def take(session: Session, bucket: str, now: float, interval: float, tolerance: float) -> bool:
    """Count one message against `bucket`; False (and nothing changed) when it is over.

    One statement: the row is created or advanced only if it is not more than `tolerance`
    seconds ahead of `now`, so two workers cannot both take the last place."""
    due = TABLE.c.due
    stmt = (
        _insert(session)
        .values(bucket=bucket, due=now + interval)
        .on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=["bucket"],
            set_={"due": case((due > now, due), else_=now) + interval},
            where=due <= now + tolerance,
        )
        .returning(TABLE.c.bucket)
    )
    # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT.
    return session.connection().execute(stmt).first() is not None


def give_back(session: Session, bucket: str, interval: float) -> None:
    """Undo a `take` of this transaction (another limit of the same message refused it)."""
    session.execute(
        update(RateBucket).where(RateBucket.bucket == bucket).values(due=RateBucket.due - interval)
    )


def due(session: Session, bucket: str) -> float:
    return float(session.scalar(select(RateBucket.due).where(RateBucket.bucket == bucket)) or 0.0)


def mark_told(session: Session, bucket: str, now: float, window: float) -> bool:
    """Record that the identity was told it writes too fast; False if it was in this window."""
    stmt = (
        update(RateBucket)
        .where(
            RateBucket.bucket == bucket,
            or_(RateBucket.told_at.is_(None), RateBucket.told_at <= now - window),
        )
        .values(told_at=now)
        .returning(RateBucket.bucket)
    )
    return session.execute(stmt).first() is not None


def prune(session: Session, before: float) -> int:
    """Forget identities idle since `before` (a row due in the past limits nothing)."""
    result = session.execute(delete(RateBucket).where(RateBucket.due < before))
    return int(getattr(result, "rowcount", 0) or 0)
