"""The LLM composer through the real LangChain OpenAI client against a local server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sportello.answering.assistant import Assistant
from sportello.answering.llm import LLMComposer, build_chat_model
from sportello.answering.prompts import Prompts
from sportello.answering.schemas import Action, Reply
from sportello.config import Settings
from sportello.knowledge.service import KnowledgeBase
from tests.fake_llm import Behaviour, serve_fake_llm

QUESTION = "Entro quando si deposita il bilancio al RUNTS?"


@pytest.fixture(scope="module")
def llm_server() -> Iterator[tuple[str, Behaviour]]:
    with serve_fake_llm() as server:
        yield server


def assistant(real_kb: KnowledgeBase, base_url: str, timeout: float = 5.0) -> Assistant:
    settings = Settings(
        _env_file=None,
        composer="llm",
        llm_base_url=base_url,  # type: ignore[call-arg]
        llm_model="fake",
        llm_timeout_s=timeout,
    )
    model = build_chat_model(settings)
    assert model is not None
    prompts = Prompts()
    return Assistant(real_kb.retriever, settings, prompts, LLMComposer(model, prompts))


def test_streams_tokens_and_cites(
    real_kb: KnowledgeBase, llm_server: tuple[str, Behaviour]
) -> None:
    url, behaviour = llm_server
    behaviour.reply, behaviour.delay_s, behaviour.status = (
        "Il bilancio si deposita entro 180 giorni dalla chiusura dell'esercizio [1].",
        0.0,
        200,
    )
    behaviour.requests.clear()
    items = list(assistant(real_kb, url).stream([], QUESTION))
    pieces = [i for i in items if isinstance(i, str)]
    reply = items[-1]
    assert isinstance(reply, Reply)
    assert len(pieces) > 3, "tokens are streamed one by one"
    assert "".join(pieces).strip() == reply.text
    assert reply.action is Action.ANSWER and not reply.fallback
    assert [c.number for c in reply.citations] == [1]
    request = behaviour.requests[-1]
    assert request["stream"] is True
    system, user = request["messages"][0]["content"], request["messages"][1]["content"]
    assert "SOLO le informazioni dei brani" in system
    assert "[1] " in user and QUESTION in user


@pytest.mark.parametrize(
    ("reply_text", "delay", "status"),
    [
        ("Risposta [1].", 3.0, 200),  # timeout
        ("Risposta senza fonti.", 0.0, 200),  # breaks the citation rule
        ("", 0.0, 500),  # server error
    ],
    ids=["timeout", "no-citation", "server-error"],
)
def test_falls_back_to_extractive(
    real_kb: KnowledgeBase,
    llm_server: tuple[str, Behaviour],
    reply_text: str,
    delay: float,
    status: int,
) -> None:
    url, behaviour = llm_server
    behaviour.reply, behaviour.delay_s, behaviour.status = reply_text, delay, status
    reply = assistant(real_kb, url, timeout=0.5).reply([], QUESTION)
    assert reply.action is Action.ANSWER
    assert reply.fallback
    assert reply.citations
    assert "180 giorni" in reply.text
