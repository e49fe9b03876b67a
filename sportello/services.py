"""The built services (engine, knowledge, assistant, use cases): what every channel may call.

Imports no channel: the composition root (app.py, the CLI) builds `Services` and hands it to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sportello.answering import queries as answering_queries
from sportello.answering.assistant import Assistant, build_intents
from sportello.answering.llm import LLMComposer, build_chat_model
from sportello.answering.prompts import Prompts
from sportello.clock import Clock, SystemClock
from sportello.config import Settings
from sportello.db.engine import make_engine, make_sessionmaker
from sportello.db.migrate import upgrade
from sportello.knowledge.embeddings import Embedder
from sportello.knowledge.service import KnowledgeBase, build_knowledge

T = TypeVar("T")


@dataclass
class Services:
    """Everything a channel may call, built once per process."""

    settings: Settings
    clock: Clock
    engine: Engine
    sessions: sessionmaker[Session]
    knowledge: KnowledgeBase
    assistant: Assistant

    def warm_up(self) -> int:
        """Run the model and both indexes once, and read every section the composer quotes
        from, so their lazy setup is not paid by the first volunteers after a start (each
        channel's process calls it before serving). Returns the sections read."""
        knowledge = self.knowledge
        vector = knowledge.embedder.embed_query("avvio")
        knowledge.keywords.search("associazione", 1)
        knowledge.vectors.query(vector, 1)  # an empty collection answers no hits
        return self.assistant.extractive.warm()


def build_assistant(
    settings: Settings, knowledge: KnowledgeBase, sessions: sessionmaker[Session] | None = None
) -> Assistant:
    """The assistant; with `sessions`, the intent vote also reads the examples staff added
    (checked for changes every `intent_reload_seconds`)."""
    prompts = Prompts()
    model = build_chat_model(settings)
    llm = LLMComposer(model, prompts) if model is not None else None
    intents = None
    if sessions is not None:
        intents = build_intents(
            knowledge.retriever,
            settings,
            stored=partial(_read, sessions, answering_queries.stored_examples),
            generation=partial(_read, sessions, answering_queries.generation),
            reload_seconds=settings.intent_reload_seconds,
        )
    return Assistant(knowledge.retriever, settings, prompts, llm, intents, knowledge.sentences)


def _read(sessions: sessionmaker[Session], query: Callable[..., T]) -> T:
    with sessions.begin() as session:
        return query(session=session)


def build_services(
    settings: Settings,
    *,
    migrate: bool = True,
    embedder: Embedder | None = None,
    clock: Clock | None = None,
) -> Services:
    """Build every service once; `embedder` lets tests share one loaded model, `clock` lets
    them freeze time (default: the real clock, shifted by `settings.clock_offset`)."""
    clock = clock or SystemClock(settings.clock_offset)
    engine = make_engine(settings)
    if migrate:
        upgrade(engine)
    sessions = make_sessionmaker(engine, clock)
    knowledge = build_knowledge(settings, embedder, clock=clock)
    assistant = build_assistant(settings, knowledge, sessions)
    return Services(
        settings=settings,
        clock=clock,
        engine=engine,
        sessions=sessions,
        knowledge=knowledge,
        assistant=assistant,
    )
