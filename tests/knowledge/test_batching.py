"""Query micro-batching: concurrent callers share a batch, a lone caller never waits."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest

from sportello.knowledge.batching import BatchingEmbedder, with_batching
from sportello.knowledge.embeddings import Embedder


class RecordingEmbedder:
    """Fake model: a vector derived from the text, a fixed cost per run, the batch sizes seen."""

    name = "fake"
    dim = 4

    def __init__(self, run_seconds: float = 0.0, fail_on: str | None = None) -> None:
        self.run_seconds = run_seconds
        self.fail_on = fail_on
        self.batches: list[int] = []
        self._lock = threading.Lock()

    def _vector(self, text: str) -> np.ndarray:
        return np.array([len(text), ord(text[0]), ord(text[-1]), 1.0], dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:  # one model run at a time, like the real engine
            self.batches.append(len(texts))
            time.sleep(self.run_seconds)
            if self.fail_on is not None and self.fail_on in texts:
                raise RuntimeError("engine failure")
            return np.stack([self._vector(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_queries(texts)

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def _ask_concurrently(
    embedder: BatchingEmbedder, texts: list[str]
) -> dict[str, np.ndarray | BaseException]:
    results: dict[str, np.ndarray | BaseException] = {}
    start = threading.Barrier(len(texts))

    def ask(text: str) -> None:
        start.wait()
        try:
            results[text] = embedder.embed_query(text)
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            results[text] = exc

    threads = [threading.Thread(target=ask, args=(t,)) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    return results


def test_lone_question_runs_at_once() -> None:
    fake = RecordingEmbedder()
    batching = BatchingEmbedder(fake, window_s=0.5)
    started = time.perf_counter()
    vector = batching.embed_query("come mi iscrivo al RUNTS?")
    assert time.perf_counter() - started < 0.1  # the 500 ms window was not waited
    assert fake.batches == [1]
    np.testing.assert_array_equal(vector, fake._vector("come mi iscrivo al RUNTS?"))


def test_concurrent_questions_share_batches_and_get_their_own_rows() -> None:
    fake = RecordingEmbedder(run_seconds=0.05)
    batching = BatchingEmbedder(fake, window_s=0.01, max_batch=32)
    texts = [f"domanda numero {i} {'x' * i}" for i in range(16)]
    results = _ask_concurrently(batching, texts)
    for text in texts:
        got = results[text]
        assert isinstance(got, np.ndarray)
        np.testing.assert_array_equal(got, fake._vector(text))
    assert sum(fake.batches) == 16
    assert len(fake.batches) < 16  # batched: fewer model runs than questions
    assert max(fake.batches) > 1
    assert sum(size * n for size, n in batching.batch_sizes.items()) == 16


def test_batches_never_exceed_max_batch() -> None:
    fake = RecordingEmbedder(run_seconds=0.02)
    batching = BatchingEmbedder(fake, window_s=0.01, max_batch=4)
    texts = [f"q{i}" for i in range(20)]
    results = _ask_concurrently(batching, texts)
    assert all(isinstance(results[t], np.ndarray) for t in texts)
    assert max(fake.batches) <= 4
    assert sum(fake.batches) == 20


def test_an_engine_error_reaches_every_caller_of_its_batch_and_the_next_batch_runs() -> None:
    fake = RecordingEmbedder(run_seconds=0.02, fail_on="boom")
    batching = BatchingEmbedder(fake, window_s=0.01)
    results = _ask_concurrently(batching, ["boom", "a", "b", "c"])
    assert isinstance(results["boom"], RuntimeError)
    # Nothing is stuck: the batcher serves the next question.
    fake.fail_on = None
    np.testing.assert_array_equal(batching.embed_query("dopo"), fake._vector("dopo"))


def test_zero_window_disables_batching() -> None:
    fake = RecordingEmbedder()
    assert with_batching(fake, 0) is fake
    assert isinstance(with_batching(fake, 5), BatchingEmbedder)


@pytest.mark.parametrize("size", [1, 3, 8])
def test_real_model_batched_vectors_match_single_ones(embedder: Embedder, size: int) -> None:
    texts = [
        "Come si iscrive un'associazione al RUNTS?",
        "Qual è la soglia dei ricavi per il bilancio per cassa?",
        "I volontari vanno assicurati?",
        "Cosa cambia con il 5 per mille?",
        "Serve il notaio per modificare lo statuto?",
        "Quando si deposita il bilancio sociale?",
        "Posso rimborsare le spese dei volontari a forfait?",
        "Che cos'è la raccolta fondi occasionale?",
    ][:size]
    batching = BatchingEmbedder(embedder, window_s=0.005)
    batched = batching.embed_queries(texts)
    assert batched.shape == (size, embedder.dim)
    for text, row in zip(texts, batched, strict=True):
        single = embedder.embed_query(text)
        cosine = float(row @ single / (np.linalg.norm(row) * np.linalg.norm(single)))
        assert cosine > 0.999
