"""Conversation figures for the staff dashboard: questions per day, outcomes, satisfaction, gaps."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from sportello.conversations.models import Feedback, Message, Role


def questions_per_day(
    *, session: Session, since: datetime, until: datetime, tz: ZoneInfo
) -> list[tuple[date, int]]:
    """Each local day from `since` to `until` with the number of questions asked (zeros too)."""
    stamps = session.scalars(
        select(Message.created_at).where(
            Message.role == Role.USER, Message.created_at >= since, Message.created_at < until
        )
    )
    counts = Counter(stamp.astimezone(tz).date() for stamp in stamps)
    first, last = since.astimezone(tz).date(), (until - timedelta(seconds=1)).astimezone(tz).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [(day, counts.get(day, 0)) for day in days]


def reply_outcomes(*, session: Session, since: datetime) -> dict[str, int]:
    """How the assistant's replies ended: answer / clarify / escalate / refuse → count."""
    stmt = (
        select(Message.action, func.count())
        .where(Message.role == Role.ASSISTANT, Message.created_at >= since)
        .group_by(Message.action)
    )
    result = {"answer": 0, "clarify": 0, "escalate": 0, "refuse": 0}
    for action, n in session.execute(stmt):
        if action:
            result[str(action)] = result.get(str(action), 0) + int(n)
    return result


def satisfaction(*, session: Session, since: datetime) -> dict[str, int]:
    """Thumbs up and down given on replies since `since`."""
    stmt = (
        select(Feedback.value, func.count())
        .where(Feedback.created_at >= since)
        .group_by(Feedback.value)
    )
    counts = {int(v): int(n) for v, n in session.execute(stmt)}
    return {"up": counts.get(1, 0), "down": counts.get(-1, 0)}


def gap_candidates(
    *, session: Session, since: datetime, low_confidence: float, limit: int
) -> list[tuple[Message, str | None, int | None]]:
    """(reply, the question before it, its vote) for replies since `since` that were refused,
    escalated, unsure or thumbed down, newest first."""
    reply = aliased(Message)
    asked = aliased(Message)
    question = (
        select(asked.text)
        .where(
            asked.conversation_id == reply.conversation_id,
            asked.role == Role.USER,
            asked.id < reply.id,
        )
        .order_by(asked.id.desc())
        .limit(1)
        .correlate(reply)
        .scalar_subquery()
    )
    stmt = (
        select(reply, question, Feedback.value)
        .outerjoin(Feedback, Feedback.message_id == reply.id)
        .where(
            reply.role == Role.ASSISTANT,
            reply.created_at >= since,
            or_(
                reply.action.in_(["refuse", "escalate"]),
                and_(reply.action == "answer", reply.confidence < low_confidence),
                Feedback.value == -1,
            ),
        )
        .order_by(reply.id.desc())
        .limit(limit)
    )
    return [(m, text, vote) for m, text, vote in session.execute(stmt).tuples()]
