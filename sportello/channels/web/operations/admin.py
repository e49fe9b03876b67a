"""Staff admin use cases: documents, uploads, retire/restore, try a question, gaps, FAQ, stats."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from sportello.accounts.service import Principal
from sportello.answering import queries as answering_queries
from sportello.answering.intents import Intent
from sportello.answering.language import detect_language
from sportello.channels.web.jobs import IndexWork
from sportello.clock import local_today
from sportello.conversations import gaps as gaps_mod
from sportello.conversations import reports as conversation_stats
from sportello.desk import tickets as desk_stats
from sportello.errors import ErrorCode, SportelloError
from sportello.knowledge import admin as kb_admin
from sportello.knowledge.documents import Topic
from sportello.knowledge.indexing import IngestReport
from sportello.services import Services

TRY_K = 8


class DocumentView(BaseModel):
    id: str
    title: str
    topic: str | None
    format: str
    chunks: int
    reviewed: date | None
    overdue: bool
    status: str
    uploaded: bool
    sources: list[str]


class HitView(BaseModel):
    rank: int
    chunk_id: str
    doc_id: str
    citation: str
    link: str
    topic: str | None
    text: str
    fused_score: float
    dense_score: float | None
    lexical_score: float | None
    dense_rank: int | None
    lexical_rank: int | None


class ReplyView(BaseModel):
    text: str
    action: str
    confidence: float
    reason: str
    query: str
    topic: str | None
    citations: list[dict[str, object]]


class TryView(BaseModel):
    question: str
    hits: list[HitView]
    reply: ReplyView | None


class GapExample(BaseModel):
    message_id: int
    at: datetime
    question: str
    reasons: list[str]
    confidence: float | None


class ThemeView(BaseModel):
    label: str
    count: int
    topic: str | None
    reasons: dict[str, int]
    examples: list[GapExample]


class GapsView(BaseModel):
    days: int
    total: int
    themes: list[ThemeView]


class IntentExampleView(BaseModel):
    id: int
    intent: str
    text: str
    at: datetime


# "Avrebbe dovuto essere…": what staff pick in the gaps view, and the intent it teaches.
SHOULD_HAVE_BEEN = {
    Intent.WANTS_PERSON: "inoltrata all'esperto: chiede una persona o un appuntamento",
    Intent.PERSONAL_CASE: "inoltrata all'esperto: caso concreto, documento o controversia",
    Intent.WRONGDOING: "rifiutata: chiede aiuto per qualcosa di illecito",
    Intent.OFF_TOPIC: "rifiutata: fuori dai temi dello sportello",
    Intent.INJECTION: "rifiutata: tenta di manipolare l'assistente",
    Intent.IN_SCOPE: "risposta: domanda generale sui temi dello sportello",
    Intent.VAGUE: "chiarimento: troppo vaga per cercare",
}


class PromotableReply(BaseModel):
    event_id: int
    ticket_id: int
    ticket_code: str
    topic: str
    question: str
    answer: str
    expert_name: str
    at: datetime


class Dashboard(BaseModel):
    days: int
    questions_per_day: list[tuple[date, int]]
    outcomes: dict[str, int]
    satisfaction: dict[str, int]
    tickets_by_status: dict[str, int]
    median_first_reply_hours: float | None
    replied_tickets: int
    bookings_per_desk: dict[str, int]


def _today(svc: Services) -> date:
    return local_today(svc.clock, svc.settings.desk_timezone)


def documents(svc: Services) -> list[DocumentView]:
    with svc.sessions.begin() as session:
        rows = kb_admin.list_documents(session=session, settings=svc.settings, today=_today(svc))
    return [
        DocumentView(
            id=r.id,
            title=r.title,
            topic=r.topic,
            format=r.format,
            chunks=r.chunks,
            reviewed=r.reviewed,
            overdue=r.overdue,
            status=str(r.status),
            uploaded=r.uploaded,
            sources=list(r.sources),
        )
        for r in rows
    ]


def _ingest_uploads(svc: Services) -> IngestReport:
    folder = kb_admin.uploads_dir(svc.settings)
    with svc.sessions.begin() as session:
        return svc.knowledge.indexer.ingest([folder], session=session)


def upload(svc: Services, work: IndexWork, filename: str, data: bytes) -> dict[str, object]:
    """Check, store under uploads/ and index one document; a failure indexes nothing."""
    with work.exclusive():
        path = kb_admin.save_upload(filename, data, settings=svc.settings)
        report = _ingest_uploads(svc)
    reasons = [reason for name, reason in report.failed if name == path.name]
    if reasons:
        path.unlink(missing_ok=True)
        raise SportelloError(ErrorCode.CORRUPT_DOCUMENT, "document_refused", reason=reasons[0])
    return {"file": path.name, "doc_id": path.stem, "report": report.as_dict()}


def retire(svc: Services, work: IndexWork, doc_id: str) -> None:
    with work.exclusive(), svc.sessions.begin() as session:
        svc.knowledge.indexer.retire(doc_id, session=session)


def restore(svc: Services, work: IndexWork, doc_id: str) -> None:
    with work.exclusive(), svc.sessions.begin() as session:
        svc.knowledge.indexer.restore(doc_id, session=session)


def try_question(svc: Services, question: str, topic: str | None = None) -> TryView:
    """What retrieval finds for a question and the reply the assistant would give (not stored)."""
    question = question.strip()
    if not question:
        return TryView(question="", hits=[], reply=None)
    chosen = Topic(topic) if topic else None
    # Ranked as the assistant ranks it: an English question also reads the English ranking.
    hits = svc.knowledge.retriever.search(
        question, TRY_K, chosen, language=detect_language(question)
    )
    reply = svc.assistant.reply([], question)
    return TryView(
        question=question,
        hits=[
            HitView(
                rank=i,
                chunk_id=h.chunk.id,
                doc_id=h.chunk.doc_id,
                citation=h.chunk.citation,
                link=h.chunk.link,
                topic=h.chunk.topic.value if h.chunk.topic else None,
                text=h.chunk.text,
                fused_score=h.fused_score,
                dense_score=h.dense_score,
                lexical_score=h.lexical_score,
                dense_rank=h.dense_rank,
                lexical_rank=h.lexical_rank,
            )
            for i, h in enumerate(hits, 1)
        ],
        reply=ReplyView(
            text=reply.text,
            action=str(reply.action),
            confidence=reply.confidence,
            reason=reply.reason,
            query=reply.query,
            topic=reply.topic,
            citations=[c.as_dict() for c in reply.citations],
        ),
    )


def _themes(svc: Services, days: int) -> list[gaps_mod.Theme]:
    since = svc.clock.now() - timedelta(days=days)
    with svc.sessions.begin() as session:
        found = gaps_mod.find_gaps(
            session=session, since=since, low_confidence=svc.settings.gaps_low_confidence
        )
    return gaps_mod.group_themes(found, svc.knowledge.embedder)


def gaps(svc: Services, days: int) -> GapsView:
    themes = _themes(svc, days)
    return GapsView(
        days=days,
        total=sum(t.count for t in themes),
        themes=[
            ThemeView(
                label=t.label,
                count=t.count,
                topic=t.topic,
                reasons=t.reasons,
                examples=[
                    GapExample(
                        message_id=g.message_id,
                        at=g.at,
                        question=g.question,
                        reasons=[r.value for r in g.reasons],
                        confidence=g.confidence,
                    )
                    for g in t.examples
                ],
            )
            for t in themes
        ],
    )


def gaps_csv(svc: Services, days: int) -> str:
    return gaps_mod.themes_csv(_themes(svc, days))


def promotable(svc: Services) -> list[PromotableReply]:
    with svc.sessions.begin() as session:
        rows = desk_stats.expert_replies(session=session)
    return [PromotableReply(**r.__dict__) for r in rows]


def promotable_one(svc: Services, event_id: int) -> PromotableReply:
    with svc.sessions.begin() as session:
        row = desk_stats.expert_reply(event_id, session=session)
    if row is None:
        raise SportelloError(ErrorCode.NOT_FOUND, "reply_not_found")
    return PromotableReply(**row.__dict__)


def promote(
    svc: Services,
    work: IndexWork,
    *,
    title: str,
    topic: str,
    question: str,
    answer: str,
    sources: list[str],
) -> dict[str, object]:
    """Write the reviewed answer as a FAQ document in uploads/ and index it."""
    with work.exclusive():
        path = kb_admin.write_faq(
            settings=svc.settings,
            title=title,
            topic=topic,
            question=question,
            answer=answer,
            sources=sources,
            reviewed=_today(svc),
        )
        report = _ingest_uploads(svc)
    return {"file": path.name, "doc_id": path.stem, "report": report.as_dict()}


def dashboard(svc: Services, days: int) -> Dashboard:
    tz = ZoneInfo(svc.settings.desk_timezone)
    now = svc.clock.now()
    today = now.astimezone(tz).date()
    start_day = today - timedelta(days=days - 1)
    since = datetime.combine(start_day, datetime.min.time(), tzinfo=tz)
    until = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    with svc.sessions.begin() as session:
        hours = desk_stats.first_reply_hours(session=session, since=since)
        return Dashboard(
            days=days,
            questions_per_day=conversation_stats.questions_per_day(
                session=session, since=since, until=until, tz=tz
            ),
            outcomes=conversation_stats.reply_outcomes(session=session, since=since),
            satisfaction=conversation_stats.satisfaction(session=session, since=since),
            tickets_by_status=desk_stats.tickets_by_status(session=session, since=since),
            median_first_reply_hours=desk_stats.median_first_reply_hours(
                session=session, since=since
            ),
            replied_tickets=len(hours),
            bookings_per_desk=desk_stats.bookings_per_desk(session=session, since=since),
        )


def add_intent_example(
    svc: Services, who: Principal, *, intent: str, text: str, message_id: int | None
) -> IntentExampleView:
    """Store what a message should have been as a labelled example; the assistant reads it at
    its next check (every `intent_reload_seconds`), in every worker."""
    try:
        chosen = Intent(intent)
    except ValueError:
        raise SportelloError(ErrorCode.INVALID_INPUT, "example_intent_missing") from None
    text = " ".join(text.split())
    if not text:
        raise SportelloError(ErrorCode.INVALID_INPUT, "example_empty")
    with svc.sessions.begin() as session:
        row = answering_queries.add_example(
            session=session,
            intent=chosen,
            text=text,
            source_message_id=message_id,
            created_by=who.user_id,
        )
        return IntentExampleView(id=row.id, intent=row.intent, text=row.text, at=row.created_at)


def intent_examples(svc: Services) -> list[IntentExampleView]:
    with svc.sessions.begin() as session:
        rows = answering_queries.list_examples(session=session)
        return [
            IntentExampleView(id=r.id, intent=r.intent, text=r.text, at=r.created_at) for r in rows
        ]


def remove_intent_example(svc: Services, example_id: int) -> None:
    with svc.sessions.begin() as session:
        if not answering_queries.remove_example(session=session, example_id=example_id):
            raise SportelloError(ErrorCode.NOT_FOUND, "example_not_found")
