"""SQL of the answering domain (the only place it runs): the staff's intent examples."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from sportello.answering.intents import Example, Intent
from sportello.answering.models import IntentExampleRow


def add_example(
    *,
    session: Session,
    intent: Intent,
    text: str,
    source_message_id: int | None = None,
    created_by: int | None = None,
) -> IntentExampleRow:
    row = IntentExampleRow(
        intent=intent.value,
        text=" ".join(text.split()),
        source_message_id=source_message_id,
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    return row


def remove_example(*, session: Session, example_id: int) -> bool:
    result = session.execute(delete(IntentExampleRow).where(IntentExampleRow.id == example_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def list_examples(*, session: Session) -> list[IntentExampleRow]:
    return list(session.scalars(select(IntentExampleRow).order_by(IntentExampleRow.id.desc())))


def generation(*, session: Session) -> str:
    """Changes whenever a row is added or removed: the count and the highest id."""
    count, top = session.execute(
        select(func.count(IntentExampleRow.id), func.max(IntentExampleRow.id))
    ).one()
    return f"{count}:{top or 0}"


def stored_examples(*, session: Session) -> tuple[str, list[Example]]:
    """The generation and every staff example, as the classifier reads them."""
    rows = list_examples(session=session)
    examples = [
        Example(id=f"db-{row.id}", intent=Intent(row.intent), text=row.text)
        for row in reversed(rows)
    ]
    return generation(session=session), examples
