"""The rate limit's rule: a generic cell rate (GCRA) per identity — up to `limit` messages at
once, then one every `window / limit` seconds; a quiet `window` gives the whole allowance back.

Identities: the volunteer (a browser's chat cookie, a Telegram chat) and, on the web, the IP
address too (with a larger allowance: an office behind one address holds several people).
State lives in the database, one row per identity, so every worker and the bot see the same.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from sportello.config import Settings
from sportello.errors import ErrorCode, SportelloError
from sportello.ratelimit import queries


@dataclass(frozen=True)
class Rate:
    limit: int  # messages allowed in a row
    window: float  # seconds that give the whole allowance back

    @property
    def interval(self) -> float:
        return self.window / self.limit

    @property
    def tolerance(self) -> float:
        return self.window - self.interval


@dataclass(frozen=True)
class Limit:
    scope: str  # "volunteer" | "ip": which limit refused, for logs and tests
    bucket: str
    rate: Rate


@dataclass(frozen=True)
class Refusal:
    scope: str
    retry_after: int  # whole seconds until one more message is accepted (at least 1)
    first: bool  # the first refusal of this identity in its window: worth saying so


class RateLimited(SportelloError):
    """Too many messages too fast: the edge answers 429 with Retry-After (web) or says so once
    per window (Telegram). The refused message is not stored."""

    def __init__(self, detail: str, refusal: Refusal) -> None:
        super().__init__(ErrorCode.RATE_LIMITED, detail)
        self.retry_after = refusal.retry_after
        self.first = refusal.first
        self.scope = refusal.scope


def bucket(kind: str, value: str) -> str:
    """The stored name of an identity: a hash, so the table holds no address or chat id."""
    return hashlib.sha256(f"{kind}\x00{value}".encode()).hexdigest()


def limits(settings: Settings, channel: str, ref: str, ip: str | None = None) -> list[Limit]:
    """The limits one message counts against: its volunteer's, and its IP address's if known."""
    found = [
        Limit(
            "volunteer",
            bucket("volunteer", f"{channel}:{ref}"),
            Rate(settings.rate_limit_messages, settings.rate_limit_seconds),
        )
    ]
    if ip and settings.rate_limit_ip_messages > 0:
        found.append(
            Limit(
                "ip",
                bucket("ip", ip),
                Rate(settings.rate_limit_ip_messages, settings.rate_limit_seconds),
            )
        )
    return found


def take(chosen: Sequence[Limit], *, session: Session, now: datetime) -> Refusal | None:
    """Count one message against every limit, or against none when one refuses it."""
    at = now.timestamp()
    taken: list[Limit] = []
    for limit in chosen:
        rate = limit.rate
        if queries.take(session, limit.bucket, at, rate.interval, rate.tolerance):
            taken.append(limit)
            continue
        for done in taken:
            queries.give_back(session, done.bucket, done.rate.interval)
        wait = queries.due(session, limit.bucket) - rate.tolerance - at
        first = queries.mark_told(session, limit.bucket, at, rate.window)
        return Refusal(limit.scope, max(1, math.ceil(wait)), first)
    return None


def prune(settings: Settings, *, session: Session, now: datetime) -> int:
    """Forget identities quiet for a whole window (they have their full allowance again)."""
    return queries.prune(session, now.timestamp() - settings.rate_limit_seconds)
