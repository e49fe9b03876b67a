"""The volunteers' rate limit as a use case: every chat channel asks here before it acts."""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sportello.periodic import running_every
from sportello.ratelimit import policy
from sportello.ratelimit.policy import RateLimited, Refusal
from sportello.services import Services
from sportello.usecases.results import Volunteer

__all__ = ["Admission", "RateLimited", "admit", "count", "prune", "pruning", "refused"]

logger = logging.getLogger(__name__)
PRUNE_EVERY_S = 600.0


@dataclass(frozen=True)
class Admission:
    """Ask a use case to count the message itself, in its own transaction (one unit of work
    instead of two), against the volunteer's allowance and, on the web, its IP address's."""

    ip: str | None = None


def admit(svc: Services, who: Volunteer, *, ip: str | None = None) -> None:
    """Count one message or button of `who` (and of its IP address, on the web).

    Raises RateLimited, with the seconds to wait (its text: prompts/errors.it.yaml), when it
    comes too fast; the message is then neither stored nor answered."""
    with svc.sessions.begin() as session:
        refusal = count(svc, who, Admission(ip), session=session)
    if refusal is not None:
        raise refused(who, refusal)


def count(
    svc: Services, who: Volunteer, admission: Admission, *, session: Session
) -> Refusal | None:
    """Count one message of `who` in the caller's transaction; the refusal when it comes too
    fast. The caller commits the count either way and, when refused, writes nothing else."""
    chosen = policy.limits(svc.settings, who.channel, who.ref, admission.ip)
    return policy.take(chosen, session=session, now=svc.clock.now())


def refused(who: Volunteer, refusal: Refusal) -> RateLimited:
    """The error to raise for `refusal` (logged the first time in its window)."""
    if refusal.first:
        logger.info("rate limit: a %s identity on %s is slowed down", refusal.scope, who.channel)
    return RateLimited(refusal)


def prune(svc: Services) -> int:
    """Forget the identities that have been quiet for a whole window."""
    with svc.sessions.begin() as session:
        return policy.prune(svc.settings, session=session, now=svc.clock.now())


def pruning(svc: Services) -> AbstractAsyncContextManager[None]:
    """Prune now and every PRUNE_EVERY_S while the context runs (the table stays as small as
    the identities active in the last window)."""
    return running_every("rate-limit-prune", PRUNE_EVERY_S, lambda: prune(svc))
