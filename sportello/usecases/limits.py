"""The volunteers' rate limit as a use case: every chat channel asks here before it acts."""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager

from sportello.answering.prompts import Prompts
from sportello.periodic import running_every
from sportello.ratelimit import policy
from sportello.ratelimit.policy import RateLimited
from sportello.services import Services
from sportello.usecases.results import Volunteer

__all__ = ["RateLimited", "admit", "prune", "pruning"]

logger = logging.getLogger(__name__)
PRUNE_EVERY_S = 600.0


def admit(svc: Services, who: Volunteer, *, ip: str | None = None) -> None:
    """Count one message or button of `who` (and of its IP address, on the web).

    Raises RateLimited, with the polite Italian sentence and the seconds to wait, when it
    comes too fast; the message is then neither stored nor answered."""
    chosen = policy.limits(svc.settings, who.channel, who.ref, ip)
    with svc.sessions.begin() as session:
        refusal = policy.take(chosen, session=session, now=svc.clock.now())
    if refusal is None:
        return
    if refusal.first:
        logger.info("rate limit: a %s identity on %s is slowed down", refusal.scope, who.channel)
    detail = Prompts().text("rate_limited", "it", seconds=refusal.retry_after)
    raise RateLimited(detail, refusal)


def prune(svc: Services) -> int:
    """Forget the identities that have been quiet for a whole window."""
    with svc.sessions.begin() as session:
        return policy.prune(svc.settings, session=session, now=svc.clock.now())


def pruning(svc: Services) -> AbstractAsyncContextManager[None]:
    """Prune now and every PRUNE_EVERY_S while the context runs (the table stays as small as
    the identities active in the last window)."""
    return running_every("rate-limit-prune", PRUNE_EVERY_S, lambda: prune(svc))
