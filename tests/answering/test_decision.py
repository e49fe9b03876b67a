"""How the intent vote is routed and weighed against retrieval evidence (pure logic)."""

from __future__ import annotations

import pytest

from sportello.answering import decision
from sportello.answering.intents import Intent, IntentResult


def result(intent: Intent, best: Intent | None = None, **scores: float) -> IntentResult:
    return IntentResult(
        intent=intent,
        best=best or intent,
        score=0.5,
        margin=0.1,
        nearest=("x",),
        scores={Intent(k): v for k, v in scores.items()},
    )


@pytest.mark.parametrize("intent", [Intent.VAGUE, Intent.OFF_TOPIC])
def test_a_follow_up_takes_its_subject_from_the_conversation(intent: Intent) -> None:
    assert decision.route(result(intent), follow_up=True) is Intent.IN_SCOPE
    assert decision.route(result(intent)) is intent


@pytest.mark.parametrize(
    "intent", [Intent.WRONGDOING, Intent.INJECTION, Intent.WANTS_PERSON, Intent.PERSONAL_CASE]
)
def test_a_follow_up_keeps_a_clear_intent(intent: Intent) -> None:
    assert decision.route(result(intent), follow_up=True) is intent


def test_leaning_off_topic_compares_with_in_scope() -> None:
    leaning = result(Intent.IN_SCOPE, Intent.OFF_TOPIC, off_topic=0.42, in_scope=0.40)
    assert decision.leans_off_topic(leaning)
    assert not decision.leans_off_topic(leaning, follow_up=True)
    assert not decision.leans_off_topic(result(Intent.IN_SCOPE, off_topic=0.2, in_scope=0.5))
