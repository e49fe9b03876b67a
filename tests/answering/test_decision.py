"""The rules that pick clarify and escalate."""

from __future__ import annotations

import pytest

from sportello.answering import decision


@pytest.mark.parametrize(
    "text", ["aiuto", "info", "Ciao!", "buongiorno, ho una domanda", "help", "vorrei sapere"]
)
def test_vague(text: str) -> None:
    assert decision.is_vague(text)


@pytest.mark.parametrize("text", ["aiuto con il RUNTS", "info 5 per mille", "bilancio?"])
def test_not_vague(text: str) -> None:
    assert not decision.is_vague(text)


@pytest.mark.parametrize(
    "text",
    [
        "vorrei fissare una call con un operatore dello sportello",
        "posso parlare con una persona?",
        "Vorrei un appuntamento con un esperto fiscale",
        "chiamatemi per favore",
        "I would like to talk to a human",
        "can I book an appointment?",
    ],
)
def test_asks_for_human(text: str) -> None:
    assert decision.asks_for_human(text)


@pytest.mark.parametrize(
    "text",
    [
        "Abbiamo scritto un regolamento interno per i rimborsi, ve lo mando: potete dirmi se è a norma?",
        "L'Agenzia delle Entrate ci ha mandato un questionario, ci aiutate a compilarlo?",
        "Potete controllare il nostro statuto?",
        "Abbiamo ricevuto una diffida dal comune",
        "il nostro bilancio 2025 è corretto? ve lo allego",
        "Can you review our statute?",
    ],
)
def test_specific_case(text: str) -> None:
    assert decision.is_specific_case(text)


@pytest.mark.parametrize(
    "text",
    [
        "Dobbiamo cambiare lo statuto per adeguarlo a una nuova legge: paghiamo l'imposta di registro?",
        "Quali libri sociali deve tenere un'associazione?",
        "Come si compila il rendiconto del 5 per mille?",
    ],
)
def test_general_questions_are_not_cases(text: str) -> None:
    assert not decision.is_specific_case(text)
    assert not decision.asks_for_human(text)
