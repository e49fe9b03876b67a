"""The staff's view of the fact registry: every fact, and the facts one document states."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from sportello.clock import local_today
from sportello.knowledge import registry_admin
from sportello.services import Services


class FactView(BaseModel):
    id: str
    value: str
    fact: str
    rule: str
    source: str
    in_force_from: date | None
    checked_on: date
    overdue: bool
    registry: str


class DocumentFactsView(BaseModel):
    id: str
    title: str
    topic: str | None
    reviewed: date | None
    sources: list[str]
    readable: bool
    facts: list[FactView]


def _fact_view(row: registry_admin.FactRow) -> FactView:
    f = row.fact
    return FactView(
        id=f.id,
        value=f.value,
        fact=f.fact,
        rule=f.rule,
        source=f.source,
        in_force_from=f.in_force_from,
        checked_on=f.checked_on,
        overdue=row.overdue,
        registry=f.registry,
    )


def facts(svc: Services) -> list[FactView]:
    """The fact registry, oldest check first, flagged like overdue documents."""
    rows = registry_admin.list_facts(
        settings=svc.settings, today=local_today(svc.clock, svc.settings.desk_timezone)
    )
    return [_fact_view(r) for r in rows]


def document_facts(svc: Services, doc_id: str) -> DocumentFactsView:
    with svc.sessions.begin() as session:
        doc = registry_admin.document_facts(
            session=session,
            settings=svc.settings,
            doc_id=doc_id,
            today=local_today(svc.clock, svc.settings.desk_timezone),
        )
    return DocumentFactsView(
        id=doc.id,
        title=doc.title,
        topic=doc.topic,
        reviewed=doc.reviewed,
        sources=list(doc.sources),
        readable=doc.readable,
        facts=[_fact_view(r) for r in doc.facts],
    )
