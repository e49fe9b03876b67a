"""A local OpenAI-compatible chat completions server on loopback, for the real LangChain client."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse


@dataclass
class Behaviour:
    reply: str = "Risposta [1]."
    delay_s: float = 0.0
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)


def _chunk(content: str, finish: str | None = None) -> str:
    body = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "fake",
        "choices": [
            {"index": 0, "delta": {"content": content} if content else {}, "finish_reason": finish}
        ],
    }
    return f"data: {json.dumps(body)}\n\n"


def make_app(behaviour: Behaviour) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> Any:
        payload = await request.json()
        behaviour.requests.append(payload)
        if behaviour.status != 200:
            return JSONResponse({"error": {"message": "boom"}}, status_code=behaviour.status)
        await asyncio.sleep(behaviour.delay_s)
        if payload.get("stream"):

            async def events() -> AsyncIterator[str]:
                words = behaviour.reply.split(" ")
                for i, word in enumerate(words):
                    yield _chunk(word + (" " if i < len(words) - 1 else ""))
                yield _chunk("", "stop")
                yield "data: [DONE]\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")
        return {
            "id": "c1",
            "object": "chat.completion",
            "created": 0,
            "model": "fake",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": behaviour.reply},
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }

    return app


@contextmanager
def serve_fake_llm() -> Iterator[tuple[str, Behaviour]]:
    """Run the server in a thread on a free loopback port; yield (base_url, behaviour)."""
    behaviour = Behaviour()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(make_app(behaviour), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/v1", behaviour
    finally:
        server.should_exit = True
        thread.join(timeout=5)
