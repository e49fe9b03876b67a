"""How the action model weighs the intents against retrieval evidence (pure logic)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sportello.answering import decision
from sportello.answering.assistant import wants_person
from sportello.answering.intents import Intent, IntentResult
from sportello.answering.linear import Linear
from sportello.config import Settings

N_FEATURES = len(Intent) * 3 + 5


def result(check: float = 0.1, **proba: float) -> IntentResult:
    """A message the linear model reads as `proba` (the rest spread evenly)."""
    rest = (1.0 - sum(proba.values())) / (len(Intent) - len(proba))
    probabilities = {i: proba.get(i.value, rest) for i in Intent}
    best = max(probabilities, key=lambda i: probabilities[i])
    return IntentResult(
        intent=best,
        best=best,
        score=probabilities[best],
        margin=0.1,
        nearest=("x",),
        scores={i: p / 4 for i, p in probabilities.items()},
        proba=probabilities,
        wrongdoing=check,
        words=probabilities,
        wrongdoing_words=check,
    )


def always(action: str) -> decision.Calibration:
    """An action model that picks `action` whatever it reads."""
    bias = np.zeros(len(decision.ACTIONS), np.float32)
    bias[decision.ACTIONS.index(action)] = 10.0
    return decision.Calibration(
        Linear(np.zeros((N_FEATURES, len(decision.ACTIONS)), np.float32), bias),
        np.zeros(N_FEATURES, np.float32),
        np.ones(N_FEATURES, np.float32),
    )


def test_the_reply_is_the_most_probable_intent_of_the_chosen_action() -> None:
    found = result(in_scope=0.25, off_topic=0.35, wrongdoing=0.05, wants_person=0.2)
    assert decision.act(found, 0.5, 0.55, calibration=always("refuse")) == (
        "refuse",
        Intent.OFF_TOPIC,
    )
    assert decision.act(found, 0.5, 0.55, calibration=always("clarify")) == (
        "clarify",
        Intent.VAGUE,
    )
    assert decision.act(found, 0.6, 0.55, calibration=always("answer"))[0] == "answer"


def test_no_answer_below_the_answer_threshold() -> None:
    """A question the knowledge base does not cover reads as in scope: below the threshold the
    nearest documents answer another question, so a person takes it."""
    found = result(in_scope=0.9)
    assert decision.act(found, 0.54, 0.55, calibration=always("answer")) == (
        "escalate",
        Intent.IN_SCOPE,
    )
    assert decision.act(found, 0.55, 0.55, calibration=always("answer"))[0] == "answer"


def test_a_lower_floor_lets_the_action_model_decide_between_it_and_the_threshold() -> None:
    """The Italian floor (Settings.answer_floor): between it and the threshold the action
    model's answer stands; below it, never; English keeps the threshold."""
    found = result(in_scope=0.9)
    settings = Settings(_env_file=None)
    floor = settings.answer_floor("it")
    assert floor < settings.answer_threshold == settings.answer_floor("en")
    between = (floor + settings.answer_threshold) / 2
    assert decision.act(found, between, 0.55, calibration=always("answer"), floor=floor) == (
        "answer",
        Intent.IN_SCOPE,
    )
    assert decision.act(found, floor - 0.01, 0.55, calibration=always("answer"), floor=floor) == (
        "escalate",
        Intent.IN_SCOPE,
    )
    # The model may still escalate above the floor: the floor only stops answers.
    assert decision.act(found, between, 0.55, calibration=always("escalate"), floor=floor)[0] == (
        "escalate"
    )
    # A threshold set below the floor's default takes the floor down with it.
    cautious = Settings(_env_file=None, answer_threshold=0.45)
    assert cautious.answer_floor("it") == 0.45


def test_an_escalation_the_intents_do_not_carry_is_low_confidence() -> None:
    """Neither a person asked for nor a personal case leads "in scope": the knowledge base
    did not answer well enough (the assistant's low-confidence escalation)."""
    weak = result(in_scope=0.6, personal_case=0.1, wants_person=0.05)
    assert decision.act(weak, 0.3, 0.55, calibration=always("escalate")) == (
        "escalate",
        Intent.IN_SCOPE,
    )
    case = result(in_scope=0.2, personal_case=0.6)
    assert decision.act(case, 0.3, 0.55, calibration=always("escalate")) == (
        "escalate",
        Intent.PERSONAL_CASE,
    )


def test_no_refusal_without_a_reason() -> None:
    """A refusal whose intents trail "in scope" stands only on the wrongdoing check."""
    unclear = result(in_scope=0.5, wrongdoing=0.2)
    assert decision.act(unclear, 0.3, 0.55, calibration=always("refuse")) == (
        "escalate",
        Intent.IN_SCOPE,
    )
    flagged = result(check=0.8, in_scope=0.5, wrongdoing=0.2)
    assert decision.act(flagged, 0.3, 0.55, calibration=always("refuse")) == (
        "refuse",
        Intent.WRONGDOING,
    )


def test_the_features_measure_evidence_from_the_threshold() -> None:
    found = result(in_scope=0.7)
    ours = decision.features(found, 0.60, 0.55, follow_up=False)
    peer = decision.features(found, 0.35, 0.30, follow_up=False)
    assert ours.shape == (N_FEATURES,)
    assert np.allclose(ours, peer, atol=1e-6)  # a composer with its own threshold, same scale
    assert decision.features(found, 0.6, 0.55, follow_up=True)[len(Intent) + 4] == 1.0


@pytest.mark.parametrize(
    ("found", "confidence", "expected"),
    [
        (result(check=0.05, in_scope=0.95, wrongdoing=0.02), 0.9, "answer"),
        (result(check=0.9, wrongdoing=0.9, in_scope=0.05), 0.7, "refuse"),
        (result(vague=0.9, in_scope=0.05), 0.3, "clarify"),
        (result(personal_case=0.9, in_scope=0.05), 0.7, "escalate"),
    ],
)
def test_the_fitted_model_on_clear_cases(
    found: IntentResult, confidence: float, expected: str
) -> None:
    """prompts/intents/decision.json, as fitted on `tune`: clear readings are not overturned."""
    assert decision.act(found, confidence, 0.55)[0] == expected


def test_an_english_confidence_reads_similarity_and_lexical_evidence_not_coverage() -> None:
    """An English question's words are not the documents': its share of found words says
    nothing, its BM25 evidence (glossary terms found) raises the similarity a little."""
    scale = {"dense_floor": 0.79, "dense_span": 0.12, "lexical_full": 10.0}

    def english(dense: float, coverage: float, lexical: float) -> float:
        return decision.confidence_of(dense, coverage, lexical, **scale, english_lexical=0.04)

    assert english(0.85, 0.0, 0.0) == english(0.85, 1.0, 0.0) == pytest.approx(0.5)
    assert english(0.85, 0.0, 10.0) == pytest.approx((0.85 + 0.04 - 0.79) / 0.12, abs=1e-4)
    assert english(0.85, 0.0, 30.0) == english(0.85, 0.0, 10.0)  # BM25 counts up to full
    assert english(0.70, 1.0, 10.0) == 0.0 and english(0.99, 0.0, 10.0) == 1.0
    # Italian reads all three signals.
    italian = decision.confidence_of(0.85, 0.5, 5.0, **scale)
    assert italian == pytest.approx(0.4 * 0.5 + 0.3 * 0.5 + 0.3 * 0.5, abs=1e-4)


def test_an_english_confidence_averages_in_the_english_headings_similarity() -> None:
    """An English question also meets the English twins of its hits' headings: that
    same-language similarity is averaged with the cross-language one, by its weight."""
    scale = {"dense_floor": 0.80, "dense_span": 0.12, "lexical_full": 10.0}

    def english(heading: float | None) -> float:
        return decision.confidence_of(
            0.82,
            0.0,
            0.0,
            **scale,
            english_lexical=0.04,
            english_heading=heading,
            heading_weight=0.5,
        )

    assert english(None) == pytest.approx((0.82 - 0.80) / 0.12, abs=1e-4)
    assert english(0.95) == pytest.approx(((0.82 + 0.5 * 0.95) / 1.5 - 0.80) / 0.12, abs=1e-4)
    assert english(0.95) > english(None) > english(0.70)


def test_a_follow_up_asks_for_a_person_on_both_readings() -> None:
    """The follow-up override needs more than even odds on the vector and the words agreeing."""
    clear = result(wants_person=0.9)
    assert wants_person(clear)
    assert not wants_person(result(wants_person=0.3))  # a plurality is not enough
    words_in_scope = {i: (0.6 if i is Intent.IN_SCOPE else 0.4 / 6) for i in Intent}
    assert not wants_person(replace(clear, words=words_in_scope))  # the words read in scope
