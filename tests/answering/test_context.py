"""Follow-ups are resolved against the last question answered, clarified or escalated."""

from __future__ import annotations

import pytest

from sportello.answering.context import resolve, spelled_out, without_greeting
from sportello.answering.schemas import Turn


def conversation(question: str, action: str = "answer", topic: str = "riforma") -> list[Turn]:
    return [Turn("user", question), Turn("assistant", "…", topic=topic, action=action)]


def test_entity_swap() -> None:
    resolved = resolve("e per le APS?", conversation("Quanti associati servono per una ODV?"))
    assert resolved.follow_up
    assert resolved.query.startswith("Quanti associati servono per una aps")
    assert "odv" not in resolved.query.lower()
    assert resolved.previous_topic == "riforma"


def test_short_follow_up_is_appended() -> None:
    resolved = resolve("entro quando?", conversation("Come si deposita il bilancio al RUNTS?"))
    assert resolved.follow_up
    assert resolved.query == "Come si deposita il bilancio al RUNTS? entro quando?"


def test_connective_follow_up() -> None:
    resolved = resolve(
        "E se l'associazione ha personalità giuridica cosa cambia?",
        conversation("Quale bilancio deve fare un ETS piccolo?"),
    )
    assert resolved.follow_up
    assert "bilancio" in resolved.query and "personalità giuridica" in resolved.query


def test_new_full_question_stands_alone() -> None:
    text = "Come funziona la convenzione con il comune per i servizi sociali?"
    resolved = resolve(text, conversation("Quanti associati servono per una ODV?"))
    assert not resolved.follow_up and resolved.query == text


def test_refused_turn_does_not_leak() -> None:
    resolved = resolve("e quanto costa?", conversation("chi vince Sanremo?", action="refuse"))
    assert not resolved.follow_up and resolved.query == "e quanto costa?"


def test_no_history() -> None:
    assert resolve("entro quando?", []).query == "entro quando?"


def test_a_conversation_goes_on_after_an_escalation() -> None:
    """An expert was offered, and the person asks on: the follow-up is about the same thing."""
    question = "Serve il notaio per iscrivere l'associazione al RUNTS?"
    resolved = resolve("e quanto tempo ci vuole?", conversation(question, action="escalate"))
    assert resolved.follow_up and resolved.query.startswith(question)


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("ciao, cos'è il bilancio sociale?", "cos'è il bilancio sociale?"),
        ("Ciao a tutti! quanti soci servono per una aps?", "quanti soci servono per una aps?"),
        ("Hi there, what is an APS?", "what is an APS?"),
        ("buongiorno, e per le APS?", "e per le APS?"),  # then resolved as a follow-up
        # A greeting alone, or with too little after it, stays what it is (vague).
        ("ciao", "ciao"),
        ("salve, aiuto", "salve, aiuto"),
        # Words that merely start like a greeting are words.
        ("ciaone come va", "ciaone come va"),
        ("Salvezza dei dati: come si fa?", "Salvezza dei dati: come si fa?"),
    ],
)
def test_a_greeting_in_front_of_a_question_is_set_aside(text: str, question: str) -> None:
    assert without_greeting(text) == question


@pytest.mark.parametrize(
    ("text", "spelled"),
    [
        ("serve x forza la pec?", "serve per forza la pec?"),
        ("nn siamo iscritti, cmq xké serve?", "non siamo iscritti, comunque perché serve?"),
        ("X le APS vale lo stesso?", "per le APS vale lo stesso?"),
        # Not shorthand: a letter or a digit touches it, or it is a word of the field.
        ("il 5x1000 arriva ad agosto", "il 5x1000 arriva ad agosto"),
        ("siamo una asd", "siamo una asd"),
        ("l'x del modulo", "l'x del modulo"),
    ],
)
def test_chat_shorthand_is_spelled_out(text: str, spelled: str) -> None:
    assert spelled_out(text) == spelled


def test_a_follow_up_reads_the_earlier_question_as_asked() -> None:
    """Spelled out and without its salutation: the earlier question as every step read it."""
    history = [
        Turn(role="user", text="buongiorno a tutti, serve x forza il notaio x una odv?"),
        Turn(role="assistant", text="…", topic="riforma", action="answer"),
    ]
    assert resolve("e x le aps?", history).query.startswith("serve per forza il notaio per")
