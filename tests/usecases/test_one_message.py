"""A chat message costs two short transactions and five statements, none held while the
assistant works; the question is stored before it starts (issue 16, item 2).

Counted with a SQLAlchemy listener on the real use case, real assistant and real databases
(SQLite and PostgreSQL). Before the change a web message took 13 statements in 4 transactions on SQLite
(find the conversation twice, history, question; find it again, reply; read the reply back).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import Engine, event, select

from sportello.answering.assistant import Assistant
from sportello.answering.schemas import Action, Reply, Turn
from sportello.clock import FrozenClock
from sportello.config import Settings
from sportello.conversations.models import Channel, Message, Role
from sportello.db.engine import make_engine, make_sessionmaker
from sportello.db.migrate import upgrade
from sportello.desk.handover import Step
from sportello.knowledge.embeddings import Embedder
from sportello.knowledge.service import KnowledgeBase, build_knowledge
from sportello.services import Services, build_assistant
from sportello.usecases import limits, volunteer
from sportello.usecases.results import Answer, Escalation, HandoverStep, Volunteer
from tests.conftest import KB_DIR, NOW, make_settings

DOC = "fiscale/cinque-per-mille-chi-puo-accedere-e-iscrizione.md"
QUESTION = "Chi può accedere al 5 per mille?"
FOLLOW_UP = "E come ci si iscrive?"
WANTS_PERSON = "Voglio parlare con un esperto"


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> KnowledgeBase:
    """The real retriever over one document (its own database: the tests' is fresh each)."""
    root = tmp_path_factory.mktemp("onemessage")
    (root / "kb" / DOC).parent.mkdir(parents=True)
    shutil.copy(KB_DIR / DOC, root / "kb" / DOC)
    settings = make_settings(root, kb_dir=root / "kb")
    engine = make_engine(settings)
    upgrade(engine)
    knowledge = build_knowledge(settings, embedder)
    with make_sessionmaker(engine).begin() as session:
        assert not knowledge.indexer.ingest([root / "kb"], session=session).failed
    engine.dispose()
    return knowledge


@dataclass
class Statements:
    """What the engine ran: every statement (BEGIN included, as SQLite's is explicit) and
    the transactions begun."""

    sql: list[str] = field(default_factory=list)
    transactions: int = 0

    def reset(self) -> None:
        self.sql.clear()
        self.transactions = 0

    def verbs(self) -> list[str]:
        return [s.split()[0].upper() for s in self.sql if not s.upper().startswith("BEGIN")]


@pytest.fixture
def counted(engine: Engine) -> Iterator[Statements]:
    seen = Statements()

    def statement(conn, cursor, sql, params, context, executemany) -> None:  # type: ignore[no-untyped-def]
        seen.sql.append(sql)

    def begin(conn) -> None:  # type: ignore[no-untyped-def]
        seen.transactions += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "begin", begin)
    yield seen
    event.remove(engine, "before_cursor_execute", statement)
    event.remove(engine, "begin", begin)


class Watched:
    """The real assistant, checking that no database connection is held while it works."""

    def __init__(self, assistant: Assistant, engine: Engine, fail: bool = False) -> None:
        self.assistant, self.engine, self.fail = assistant, engine, fail
        self.held: list[int] = []

    def reply(self, history: list[Turn], text: str) -> Reply:
        self.held.append(self.engine.pool.checkedout())  # type: ignore[attr-defined]
        if self.fail:
            raise RuntimeError("the assistant crashed")
        return self.assistant.reply(history, text)

    def stream(self, history: list[Turn], text: str) -> Iterator[str | Reply]:
        self.held.append(self.engine.pool.checkedout())  # type: ignore[attr-defined]
        yield from self.assistant.stream(history, text)


def services(
    engine: Engine, kb: KnowledgeBase, db_settings: Settings, fail: bool = False
) -> Services:
    clock = FrozenClock(NOW)
    settings = db_settings.model_copy(update={"kb_dir": kb.indexer.kb_dir})
    assistant = Watched(build_assistant(settings, kb), engine, fail)
    return Services(
        settings=settings,
        clock=clock,
        engine=engine,
        sessions=make_sessionmaker(engine, clock),
        knowledge=kb,
        assistant=assistant,  # type: ignore[arg-type]
    )


def test_a_message_is_two_transactions_and_five_statements(
    engine: Engine, kb: KnowledgeBase, db_settings: Settings, counted: Statements
) -> None:
    svc = services(engine, kb, db_settings)
    who = Volunteer(Channel.WEB, "web:one-message")

    first = volunteer.receive_text(svc, who, QUESTION)
    assert isinstance(first[0], Answer) and first[0].citations
    # A new conversation: its row too (the lookup, the conversation, the question, the reply).
    assert counted.transactions == 2
    assert counted.verbs() == ["SELECT", "INSERT", "INSERT", "INSERT"]

    counted.reset()
    second = volunteer.receive_text(svc, who, FOLLOW_UP)
    assert isinstance(second[0], Answer)
    # The thread and its history in one query, the question, the reply with its citations.
    assert counted.transactions == 2
    assert counted.verbs() == ["SELECT", "INSERT", "INSERT"]
    # The channel shows the stored row as returned: nothing is read back.
    stored = second[0].message
    assert stored.role == Role.ASSISTANT and stored.text == second[0].reply.text
    assert stored.citations == [c.as_dict() for c in second[0].reply.citations]

    counted.reset()
    streamed = list(volunteer.receive_text_stream(svc, who, QUESTION))
    assert any(isinstance(item, str) for item in streamed)
    assert isinstance(streamed[-1], Answer)
    assert counted.transactions == 2 and counted.verbs() == ["SELECT", "INSERT", "INSERT"]

    assert svc.assistant.held == [0, 0, 0]  # type: ignore[attr-defined]
    with svc.sessions.begin() as session:
        rows = session.execute(select(Message.role, Message.text).order_by(Message.id)).all()
    assert [tuple(r) for r in rows][1::2] == [
        (Role.ASSISTANT, r.reply.text) for r in (first[0], second[0], streamed[-1])
    ]
    assert [r.text for r in rows][0::2] == [QUESTION, FOLLOW_UP, QUESTION]


def test_an_escalation_starts_the_handover_with_the_reply(
    engine: Engine, kb: KnowledgeBase, db_settings: Settings, counted: Statements
) -> None:
    svc = services(engine, kb, db_settings)
    who = Volunteer(Channel.WEB, "web:wants-person")
    volunteer.receive_text(svc, who, QUESTION)  # asking for a person as a follow-up
    counted.reset()
    results = volunteer.receive_text(svc, who, WANTS_PERSON)
    assert isinstance(results[0], Escalation) and results[0].reply.action == Action.ESCALATE
    assert isinstance(results[1], HandoverStep) and results[1].step == Step.CONFIRM_TOPIC
    # Reply and hand-over in one unit of work: the conversation row read, its state written.
    assert counted.transactions == 2
    assert counted.verbs() == ["SELECT", "INSERT", "INSERT", "SELECT", "UPDATE"]


def test_the_question_is_stored_before_the_assistant_runs(
    engine: Engine, kb: KnowledgeBase, db_settings: Settings
) -> None:
    svc = services(engine, kb, db_settings, fail=True)
    with pytest.raises(RuntimeError, match="crashed"):
        volunteer.receive_text(svc, Volunteer(Channel.WEB, "web:crash"), QUESTION)
    assert svc.assistant.held == [0]  # type: ignore[attr-defined]
    with svc.sessions.begin() as session:
        rows = session.execute(select(Message.role, Message.text)).all()
    assert [tuple(r) for r in rows] == [(Role.USER, QUESTION)]


def test_the_rate_limit_counts_in_the_questions_transaction(
    engine: Engine, kb: KnowledgeBase, db_settings: Settings, counted: Statements
) -> None:
    """A web message's count (browser and address) runs in the transaction that stores the
    question: still two transactions. A refused one commits its count and nothing else."""
    svc = services(engine, kb, db_settings)
    svc.settings = svc.settings.model_copy(
        update={"rate_limit_messages": 2, "rate_limit_ip_messages": 0}
    )
    who, admission = Volunteer(Channel.WEB, "web:counted"), limits.Admission(ip="192.0.2.7")
    volunteer.receive_text(svc, who, QUESTION, admission=admission)
    counted.reset()
    second = volunteer.receive_text(svc, who, FOLLOW_UP, admission=admission)
    assert isinstance(second[0], Answer)
    assert counted.transactions == 2
    assert counted.verbs()[-3:] == ["SELECT", "INSERT", "INSERT"]  # after the count's own

    counted.reset()
    with pytest.raises(limits.RateLimited) as refused:
        volunteer.receive_text(svc, who, "Un'altra domanda?", admission=admission)
    assert refused.value.first and refused.value.retry_after >= 1
    assert counted.transactions == 1
    with pytest.raises(limits.RateLimited) as again:  # the refusal was committed: said once
        list(volunteer.receive_text_stream(svc, who, "E un'altra?", admission=admission))
    assert not again.value.first
    assert svc.assistant.held == [0, 0]  # type: ignore[attr-defined]
    with svc.sessions.begin() as session:
        texts = session.scalars(select(Message.text).where(Message.role == Role.USER)).all()
    assert texts == [QUESTION, FOLLOW_UP]
