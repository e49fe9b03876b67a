"""Parity: the same scenarios through both real edges leave the same database.

Each scenario is a list of steps a person takes. It runs once through the web chat's HTTP API
(TestClient) and once through the real bot talking to the fake Bot API, each on its own fresh
instance built the same way (same knowledge base, desks, experts, frozen clock). After every
step the two databases must hold the same thing: messages (role, text, citations), hand-over
step, tickets, bookings, feedback. Only what names the channel (refs, channel columns) differs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sportello.channels.telegram.bot import running_bot
from sportello.conversations.models import Conversation, Feedback, Message
from sportello.desk.models import Booking, Ticket
from sportello.knowledge.embeddings import Embedder
from tests.channels.telegram.fake_bot_api import Call, FakeBotApi
from tests.channels.web import conftest as web_conftest
from tests.channels.web.conftest import Web, build_web, login, open_chat

pytestmark = pytest.mark.anyio
TOKEN = "123456789:TEST-token_only-for-tests"
CHAT = 6161
QUESTION = "Quali documenti servono per iscriversi al RUNTS?"
CASE = "Siamo una APS di Fermo: vogliamo iscriverci al 5 per mille entro la scadenza."


indexed_template = web_conftest.indexed_template  # the web tests' indexed knowledge base


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi(TOKEN)
    await server.start()
    yield server
    await server.stop()


def snapshot(web: Web) -> dict[str, Any]:
    """The database as both channels should leave it (nothing that names the channel)."""
    with web.services.sessions.begin() as s:
        conversations = s.scalars(select(Conversation).order_by(Conversation.id)).all()
        return {
            "messages": [
                (str(m.role), m.text, [c.get("number") for c in m.citations or []])
                for m in s.scalars(select(Message).order_by(Message.id))
            ],
            "steps": [((c.state or {}).get("handover") or {}).get("step") for c in conversations],
            "tickets": [
                (t.code, str(t.status), t.topic, t.summary, t.assigned_expert_id, t.outcome)
                for t in s.scalars(select(Ticket).order_by(Ticket.id))
            ],
            "bookings": [
                (b.ticket_id, b.slot_id, str(b.status))
                for b in s.scalars(select(Booking).order_by(Booking.id))
            ],
            "feedback": [f.value for f in s.scalars(select(Feedback).order_by(Feedback.id))],
        }


# --- the two edges -----------------------------------------------------------------------------


class WebPerson:
    """A browser using the JSON API (the form routes where the API has none)."""

    def __init__(self, web: Web) -> None:
        self.web = web
        self.client = web.client()
        self.csrf = open_chat(self.client)
        self.keys: list[str] = []
        self.reply_id: int | None = None

    def _post(self, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.client.post(url, json=body or {}, headers={"X-CSRF-Token": self.csrf})
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def _step(self, step: dict[str, Any] | None) -> None:
        if step is not None:
            self.keys = [c["key"] for c in step["choices"]]

    async def say(self, text: str) -> None:
        answer = self._post("/api/chat/messages", {"text": text})
        if answer.get("message"):
            self.reply_id = answer["message"]["id"]
        self._step(answer.get("handover"))

    async def start(self, appointment: bool) -> None:
        self._step(self._post("/api/chat/handover/start", {"appointment": appointment}))

    async def press(self, prefix: str) -> None:
        key = next(k for k in self.keys if k.startswith(prefix))
        self._step(self._post("/api/chat/handover/choose", {"key": key}))

    async def vote(self, value: int) -> None:
        self._post(f"/api/chat/messages/{self.reply_id}/feedback", {"value": value})

    def _booking(self) -> int:
        return int(self.client.get("/api/chat/appointments").json()[0]["booking_id"])

    async def cancel(self) -> None:
        self._post(f"/api/chat/appointments/{self._booking()}/cancel")

    async def move(self) -> None:
        moved = self.client.post(
            f"/chat/appointments/{self._booking()}/move", data={"csrf_token": self.csrf}
        )
        assert moved.status_code == 303, moved.text
        self._step(self.client.get("/api/chat").json()["state"]["handover"])

    async def erase(self) -> None:
        response = self.client.delete("/api/chat", headers={"X-CSRF-Token": self.csrf})
        assert response.status_code == 200, response.text


class TelegramPerson:
    """A Telegram user writing to the real bot through the fake Bot API."""

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api
        self.since = 0  # the bot's messages before the last action: buttons come after

    def _act(self) -> None:
        self.since = len(self.api.messages(CHAT))

    def _with_button(self, prefix: str) -> Callable[[], tuple[Call, str] | None]:
        def find() -> tuple[Call, str] | None:
            for call in reversed(self.api.messages(CHAT)[self.since :]):
                found = [d for _, d in call.buttons() if d.startswith(prefix)]
                if found:
                    return call, found[0]
            return None

        return find

    async def _press(self, prefix: str) -> None:
        call, data = await self.api.wait_for(self._with_button(prefix))
        self._act()
        self.api.press(CHAT, call, data)

    async def say(self, text: str) -> None:
        self._act()
        self.api.send_text(CHAT, text)

    async def start(self, appointment: bool) -> None:
        self._act()
        self.api.send_text(CHAT, "/prenota" if appointment else "/esperto")

    async def press(self, prefix: str) -> None:
        await self._press(f"ho:{prefix}")

    async def vote(self, value: int) -> None:
        call, data = await self.api.wait_for(self._with_button("fb:"))
        self._act()
        self.api.press(CHAT, call, data.rsplit(":", 1)[0] + f":{value}")

    async def cancel(self) -> None:
        self._act()
        self.api.send_text(CHAT, "/appuntamenti")
        await self._press("bk:ask:")
        await self._press("bk:yes:")

    async def move(self) -> None:
        self._act()
        self.api.send_text(CHAT, "/appuntamenti")
        await self._press("bk:move:")

    async def erase(self) -> None:
        self._act()
        self.api.send_text(CHAT, "/cancella_dati")
        await self._press("er:yes")


async def expert_replies(web: Web, text: str) -> None:
    """The expert answers the newest ticket from the web console (the same on both sides)."""
    expert = web.client()
    token = login(expert, web.people.expert)
    with web.services.sessions.begin() as s:
        ticket_id = s.scalars(select(Ticket.id).order_by(Ticket.id.desc())).first()
    response = expert.post(
        f"/api/console/tickets/{ticket_id}/reply",
        json={"text": text},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 200, response.text


# --- the scenarios -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    name: str
    args: tuple[Any, ...] = ()


TO_SLOTS = [Step("start", (True,)), Step("press", ("topic:",)), Step("say", (CASE,))]
BOOK = [*TO_SLOTS, Step("press", ("slot:",)), Step("press", ("confirm:yes",))]

SCENARIOS: dict[str, list[Step]] = {
    "ask and vote": [Step("say", (QUESTION,)), Step("vote", (1,))],
    "escalate then book": [
        Step("say", ("Vorrei parlare con un esperto del 5 per mille, per favore.",)),
        Step("press", ("topic:",)),
        Step("say", (CASE,)),
        Step("press", ("mode:appointment",)),
        Step("press", ("slot:",)),
        Step("press", ("confirm:yes",)),
    ],
    "book then cancel": [*BOOK, Step("cancel")],
    "book then move": [
        *BOOK,
        Step("move"),
        Step("press", ("slot:",)),
        Step("press", ("confirm",)),
    ],
    "ask then erase": [Step("say", (QUESTION,)), Step("erase")],
    "expert reply relayed": [
        Step("start", (False,)),
        Step("press", ("topic:",)),
        Step("say", (CASE,)),
        Step("press", ("mode:written",)),
        Step("expert", ("Sì: l'iscrizione si fa sul portale del RUNTS.",)),
        Step("say", ("Grazie, e per la scadenza?",)),
    ],
}


# What each scenario must have left, so a parity of two empty databases cannot pass.
OUTCOMES: dict[str, Callable[[dict[str, Any]], bool]] = {
    "ask and vote": lambda db: db["feedback"] == [1] and db["messages"][1][2] != [],
    "escalate then book": lambda db: [b[2] for b in db["bookings"]] == ["active"],
    "book then cancel": lambda db: [b[2] for b in db["bookings"]] == ["cancelled"],
    "book then move": lambda db: (
        [b[2] for b in db["bookings"]].count("active") == 1 and "spostato" in db["messages"][-1][1]
    ),
    "ask then erase": lambda db: db["messages"] == [] and db["steps"] == [],
    "expert reply relayed": lambda db: [m[0] for m in db["messages"]][-2:] == ["expert", "user"],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_both_channels_leave_the_same_database(
    name: str,
    api: FakeBotApi,
    indexed_template: Path,
    tmp_path: Path,
    embedder: Embedder,
) -> None:
    # Moving needs a day's notice: the frozen morning's slots are sooner.
    web = build_web(indexed_template, tmp_path / "web", embedder, desk_reschedule_notice_hours=0)
    bot = build_web(
        indexed_template,
        tmp_path / "bot",
        embedder,
        desk_reschedule_notice_hours=0,
        telegram_token=TOKEN,
        telegram_base_url=api.base_url,
        telegram_base_file_url=api.base_file_url,
        telegram_poll_timeout=1,
        telegram_outbox_interval=0.2,
    )
    try:
        browser, chat = WebPerson(web), TelegramPerson(api)
        async with running_bot(bot.settings, bot.services):
            for number, step in enumerate(SCENARIOS[name], 1):
                if step.name == "expert":
                    await expert_replies(web, *step.args)
                    await expert_replies(bot, *step.args)
                else:
                    await getattr(browser, step.name)(*step.args)
                    await getattr(chat, step.name)(*step.args)
                expected = snapshot(web)
                try:
                    await api.wait_for(lambda want=expected: snapshot(bot) == want, within=30)
                except AssertionError:
                    assert snapshot(bot) == expected, f"{name}: step {number} ({step.name})"
        final = snapshot(web)
        assert OUTCOMES[name](final), final
    finally:
        web.services.engine.dispose()
        bot.services.engine.dispose()
