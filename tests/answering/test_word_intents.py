"""The word reading of the intent examples: terms, a learned softmax, a cache round trip."""

from __future__ import annotations

import numpy as np

from sportello.answering import word_intents
from sportello.answering.intents import Intent, load_examples, load_lawful, with_lawful


def test_terms_fold_accents_and_case_and_read_every_number_as_one_token() -> None:
    got = word_intents.terms("Perché 5x1000? Ci DATE 300 €")
    assert got[:6] == ["perche", "<n>", "x", "<n>", "ci", "date"]
    assert "ci_date" in got and "date_<n>" in got


def _model() -> word_intents.WordModel:
    """The word model of the project's own examples, lawful questions read as in scope."""
    examples = load_examples()
    lawful = load_lawful()
    labels = np.array([list(Intent).index(e.intent) for e in examples])
    return word_intents.fit(
        [e.text for e in examples] + lawful, with_lawful(labels, len(lawful)), len(Intent)
    )


def _intent(model: word_intents.WordModel, text: str) -> Intent:
    return list(Intent)[int(model.proba(text).argmax())]


def test_the_word_model_reads_how_a_person_asks_beside_what_about() -> None:
    model = _model()
    # Written for this test, on one subject each, asked two ways; not in the examples.
    assert _intent(model, "entro quando va approvato il bilancio di un'odv?") is Intent.IN_SCOPE
    assert _intent(model, "vi mandiamo il nostro bilancio, ce lo controllate voi?") in {
        Intent.PERSONAL_CASE,
        Intent.WANTS_PERSON,
    }
    assert _intent(model, "posso parlare con una persona dello sportello?") is Intent.WANTS_PERSON


def test_the_word_model_is_deterministic_and_survives_its_cache_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    first, second = _model(), _model()
    assert np.array_equal(first.model.weights, second.model.weights)
    np.savez(tmp_path / "m.npz", **first.arrays())
    with np.load(tmp_path / "m.npz") as data:
        loaded = word_intents.WordModel.from_arrays(dict(data))
    text = "ciao, la nostra aps ha 40 soci: serve il revisore?"
    assert np.allclose(loaded.proba(text), first.proba(text))
    assert loaded.vocabulary == first.vocabulary


def test_a_message_without_a_known_word_gets_the_prior_not_an_error() -> None:
    proba = _model().proba("zzqx 🙂")
    assert proba.shape == (len(Intent),)
    assert abs(float(proba.sum()) - 1.0) < 1e-5
