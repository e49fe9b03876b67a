"""The typed CallbackContext: handlers reach settings, services and texts through it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from sportello.channels.telegram.texts import Texts
from sportello.config import Settings

if TYPE_CHECKING:
    from sportello.services import Services


@dataclass
class Runtime:
    """What every handler shares, set once by `build_bot`."""

    settings: Settings
    services: Services
    texts: Texts
    # Set by the outbox worker: wakes it up when a handler queued desk messages.
    outbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)


class BotData:
    """`application.bot_data`: PTB creates it empty; `build_bot` attaches the runtime."""

    def __init__(self) -> None:
        self._runtime: Runtime | None = None

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("bot used before build_bot attached its services")
        return self._runtime

    def attach(self, runtime: Runtime) -> None:
        self._runtime = runtime


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """CallbackContext with typed access to what the bot needs."""

    @property
    def runtime(self) -> Runtime:
        return self.bot_data.runtime

    @property
    def services(self) -> Services:
        return self.bot_data.runtime.services

    @property
    def settings(self) -> Settings:
        return self.bot_data.runtime.settings

    @property
    def texts(self) -> Texts:
        return self.bot_data.runtime.texts

    def outbox_now(self) -> None:
        """Deliver freshly queued desk messages (confirmation, .ics) without waiting."""
        self.bot_data.runtime.outbox_wakeup.set()


BotApplication = Application[
    ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], BotData, None
]
