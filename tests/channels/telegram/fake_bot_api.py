"""A Bot API server of our own on 127.0.0.1: the real bot talks to it over HTTP.

It implements the methods the bot uses, records every call, hands out injected updates through
getUpdates (long polling, offsets confirming like Telegram's), can redeliver an update, and can
answer the next calls of a method with 429 + retry_after or a 502, or not in time at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

BOT_ID = 999_000
BOT_USER = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Sportello",
    "username": "sportello_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
# Sent by PTB as plain strings; every other field is JSON-encoded.
TEXT_FIELDS = {
    "text",
    "caption",
    "parse_mode",
    "secret_token",
    "url",
    "action",
    "callback_query_id",
    "drop_pending_updates",
}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]]
    at: float
    status: int = 200
    result_id: int | None = None  # message_id of the message this call created

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def plain(self) -> str:
        """The text as the person reads it (entities decoded)."""
        return html.unescape(self.text)

    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of the inline keyboard sent with this call."""
        markup = self.params.get("reply_markup") or {}
        return [
            (b["text"], b.get("callback_data", ""))
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]


@dataclass
class Failure:
    status: int
    retry_after: int | None = None
    delay: float = 0.0  # seconds before answering: longer than the client waits = a timeout


@dataclass
class FakeBotApi:
    token: str
    calls: list[Call] = field(default_factory=list)
    sent: dict[int, dict[str, Any]] = field(default_factory=dict)  # message_id → bot message
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    port: int = 0

    def __post_init__(self) -> None:
        self._queue: list[tuple[dict[str, Any], bool]] = []  # (update, forced redelivery)
        self._update_ids = itertools.count(500_001)
        self._message_ids = itertools.count(1)
        self._user_message_ids = itertools.count(10_001)
        self._new_update = asyncio.Event()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    # -- server --------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> None:
        app = Starlette(
            routes=[Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"])]
        )
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:  # noqa: ASYNC110 - uvicorn offers no started event
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            self._new_update.set()
            await self._task

    # -- what the tests do ---------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        status: int,
        retry_after: int | None = None,
        times: int = 1,
        delay: float = 0.0,
    ) -> None:
        """Answer the next `times` calls of `method` with `status` (after `delay` seconds: the
        call is not carried out, as when a request is lost before reaching Telegram)."""
        self.failures.setdefault(method, []).extend([Failure(status, retry_after, delay)] * times)

    def _user(self, chat_id: int) -> dict[str, Any]:
        return {"id": chat_id, "is_bot": False, "first_name": "Volontaria", "language_code": "it"}

    def _chat(self, chat_id: int) -> dict[str, Any]:
        return {"id": chat_id, "type": "private", "first_name": "Volontaria"}

    def push(self, update: dict[str, Any], *, redeliver: bool = False) -> dict[str, Any]:
        """Queue an update for getUpdates; `redeliver` hands it out once more even if confirmed."""
        self._queue.append((update, redeliver))
        self._new_update.set()
        return update

    def user_message(
        self,
        chat_id: int,
        text: str | None = None,
        reply_to: dict[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """An update carrying a message the person wrote (a command gets its entity)."""
        message: dict[str, Any] = {
            "message_id": next(self._user_message_ids),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self._user(chat_id),
            **extra,
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                message["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
                ]
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return {"update_id": next(self._update_ids), "message": message}

    def send_text(self, chat_id: int, text: str, **kw: Any) -> dict[str, Any]:
        return self.push(self.user_message(chat_id, text, **kw))

    def send_photo(self, chat_id: int) -> dict[str, Any]:
        photo = [{"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 90}]
        return self.push(self.user_message(chat_id, photo=photo))

    def press(self, chat_id: int, call: Call, data: str) -> dict[str, Any]:
        """The person taps the button carrying `data` on the message `call` sent."""
        assert data in [d for _, d in call.buttons()], (data, call.buttons())
        assert call.result_id is not None
        message = self.sent[call.result_id]
        update = {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": str(next(self._update_ids)),
                "from": self._user(chat_id),
                "chat_instance": f"ci-{chat_id}",
                "data": data,
                "message": message,
            },
        }
        return self.push(update)

    # -- looking at what the bot did -----------------------------------------------------------
    def messages(self, chat_id: int) -> list[Call]:
        """What the bot sent to the chat (texts and documents), successful calls only."""
        return [
            c
            for c in self.calls
            if c.method in ("sendMessage", "sendDocument")
            and c.chat_id == chat_id
            and c.status == 200
        ]

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, predicate: Callable[[], Any], within: float = 20.0) -> Any:
        """Poll `predicate` (it may look at the database too) until it is truthy."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = predicate()
            if found:
                return found
            await asyncio.sleep(0.02)
        raise AssertionError("timed out waiting for the bot")

    async def wait_message(
        self, chat_id: int, contains: str = "", after: int = 0, within: float = 20.0
    ) -> Call:
        """The first message to `chat_id`, past the first `after`, whose text has `contains`."""

        def find() -> Call | None:
            return next(
                (
                    c
                    for c in self.messages(chat_id)[after:]
                    if contains in c.text or contains in c.plain
                ),
                None,
            )

        found: Call = await self.wait_for(find, within)
        return found

    # -- the HTTP endpoint ---------------------------------------------------------------------
    async def _endpoint(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401
            )
        method = request.path_params["method"]
        params, files = await self._parse(request)
        call = Call(method, params, files, time.monotonic())
        self.calls.append(call)
        pending = self.failures.get(method)
        if pending:
            failure = pending.pop(0)
            call.status = failure.status
            if failure.delay:
                await asyncio.sleep(failure.delay)
            if failure.status == 429:
                return JSONResponse(
                    {
                        "ok": False,
                        "error_code": 429,
                        "description": f"Too Many Requests: retry after {failure.retry_after}",
                        "parameters": {"retry_after": failure.retry_after},
                    },
                    status_code=429,
                )
            return PlainTextResponse("Bad Gateway", status_code=failure.status)
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return JSONResponse(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status_code=404
            )
        result = await handler(call)
        return JSONResponse({"ok": True, "result": result})

    async def _parse(self, request: Request) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
        params: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes]] = {}
        if request.method == "POST":
            form = await request.form()
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    files[key] = (value.filename or "", await value.read())
                elif key in TEXT_FIELDS:
                    params[key] = value
                else:
                    try:
                        params[key] = json.loads(value)
                    except ValueError:
                        params[key] = value
        return params, files

    def _bot_message(self, call: Call, **content: Any) -> dict[str, Any]:
        message_id = next(self._message_ids)
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(int(call.params["chat_id"])),
            "from": BOT_USER,
            **content,
        }
        if call.params.get("reply_markup"):
            message["reply_markup"] = call.params["reply_markup"]
        self.sent[message_id] = message
        call.result_id = message_id
        return message

    # -- Bot API methods -----------------------------------------------------------------------
    async def _getMe(self, call: Call) -> Any:
        return BOT_USER

    async def _getUpdates(self, call: Call) -> Any:
        offset = int(call.params.get("offset") or 0)
        timeout = float(call.params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        while True:
            self._queue = [(u, f) for u, f in self._queue if f or u["update_id"] >= offset]
            if self._queue or time.monotonic() >= deadline:
                break
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())
            if self._server is not None and self._server.should_exit:
                break
        batch = [u for u, _ in self._queue]
        self._queue = [(u, f) for u, f in self._queue if not f]  # a redelivery happens once
        return batch

    async def _deleteWebhook(self, call: Call) -> Any:
        return True

    async def _setWebhook(self, call: Call) -> Any:
        return True

    async def _setMyCommands(self, call: Call) -> Any:
        return True

    async def _sendChatAction(self, call: Call) -> Any:
        return True

    async def _answerCallbackQuery(self, call: Call) -> Any:
        return True

    async def _sendMessage(self, call: Call) -> Any:
        return self._bot_message(call, text=call.params["text"])

    async def _sendDocument(self, call: Call) -> Any:
        name, _ = call.files.get("document", ("file", b""))
        document = {
            "file_id": f"doc-{len(self.sent)}",
            "file_unique_id": f"u-{len(self.sent)}",
            "file_name": name,
            "mime_type": "text/calendar",
        }
        return self._bot_message(call, document=document, caption=call.params.get("caption", ""))

    async def _editMessageReplyMarkup(self, call: Call) -> Any:
        message = self.sent[int(call.params["message_id"])]
        message.pop("reply_markup", None)
        if call.params.get("reply_markup"):
            message["reply_markup"] = call.params["reply_markup"]
        return message

    async def _editMessageText(self, call: Call) -> Any:
        message = self.sent[int(call.params["message_id"])]
        message["text"] = call.params["text"]
        return message
