"""Lexical index: BM25 (bm25s) over Italian-stemmed tokens, persisted beside the dense index.

Two rankings over the same chunks: the chunks' text, and for English questions the text with
the section's English question (a heading's twin, see sportello.knowledge.headings), so an
English question's own words count, not only the glossary's Italian terms. Italian questions
read the first, unchanged by the twins."""

from __future__ import annotations

import json
import logging
import math
import re
import shutil
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_ITALIAN

from sportello.knowledge.documents import Chunk, Topic
from sportello.knowledge.file_lock import locked
from sportello.knowledge.folders import swap_in
from sportello.knowledge.folding import strip_accents

logger = logging.getLogger(__name__)

_WORD = re.compile(r"[a-z0-9]+")
# Spellings volunteers use for the same thing, folded into one token before stemming.
_PHRASES = [
    (re.compile(r"\b(?:5|cinque)\s*(?:x|per)\s*(?:1000|mille)\b"), " cinquepermille "),
    (re.compile(r"\b(?:2|due)\s*(?:x|per)\s*(?:1000|mille)\b"), " duepermille "),
    (re.compile(r"\bco-?(progett|programm)"), r" co\1"),
]


# Bump when tokenize() or the persisted layout changes (3: the English ranking, bm25_en): a
# persisted index built with another version is rebuilt.
TOKENIZER_VERSION = "3"
# Modal and light verbs carry no topic ("deve", "può", "vuole", "fare"): treated as stop words.
_LIGHT_VERBS = """deve devo devono dobbiamo dovete dovrebbe dovremmo puo posso possono possiamo
potete potrebbe potremmo vuole voglio vogliono vogliamo volete vorrei vorremmo fare fa fanno
facciamo fate fatto fatta si sa sapere dire detto c ce ci e stato stata essere avere"""
_STOPWORDS = (
    frozenset(strip_accents(w) for w in STOPWORDS_ITALIAN)
    | {"e", "d", "l", "un"}
    | frozenset(_LIGHT_VERBS.split())
)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("italian")


def tokenize(text: str) -> list[str]:
    """Accent-free, stop-word-free Snowball stems; "5x1000" and "cinque per mille" meet."""
    text = strip_accents(text.lower()).replace("'", " ").replace("’", " ")
    for pattern, replacement in _PHRASES:
        text = pattern.sub(replacement, text)
    words = [w for w in _WORD.findall(text) if w not in _STOPWORDS]
    return list(_stemmer().stemWords(words))


def _bm25_of(corpus: list[list[str]]) -> bm25s.BM25:
    bm25 = bm25s.BM25(k1=1.2, b=0.75)
    bm25.index(corpus, show_progress=False)
    return bm25


class KeywordIndex:
    """BM25 over chunk texts with the chunks themselves, so hits resolve without another store."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._bm25: bm25s.BM25 | None = None
        self._bm25_en: bm25s.BM25 | None = None  # with the English twins (English questions)
        self._chunks: list[Chunk] = []
        self._by_id: dict[str, int] = {}
        self._topics: np.ndarray = np.array([], dtype=object)
        self._generation = ""
        self._checked_at = 0.0
        self._doc_freq: Counter[str] = Counter()
        self._sections: dict[tuple[str, str], list[Chunk]] = {}
        # Run when another process published a new generation, before it is loaded: the
        # knowledge base reopens its embedded Chroma folder here (see service.py).
        self.on_new_generation: list[Callable[[], None]] = []
        # Each chunk's stems, computed once (rebuild or load), never per question.
        self._stems: dict[str, frozenset[str]] = {}

    # -- building and persistence -------------------------------------------------------------
    def rebuild(self, chunks: Sequence[Chunk]) -> None:
        """Index `chunks` from scratch and persist the result atomically."""
        chunks = sorted(chunks, key=lambda c: (c.doc_id, c.position))
        bm25 = bm25_en = None
        doc_freq: Counter[str] = Counter()
        if chunks:
            corpus = [tokenize(c.embedding_text()) or ["_"] for c in chunks]
            bm25 = _bm25_of(corpus)
            for tokens in corpus:
                doc_freq.update(set(tokens))
            if any(c.question_en for c in chunks):
                bm25_en = _bm25_of(
                    [
                        tokens + tokenize(c.question_en)
                        for tokens, c in zip(corpus, chunks, strict=True)
                    ]
                )
        stems = [frozenset(t) if t != ["_"] else frozenset() for t in corpus] if chunks else []
        generation = uuid.uuid4().hex
        # Rebuilds (and reads against a swap) take turns across the processes sharing the
        # folder: web workers starting together on an empty data folder each rebuild from Chroma.
        with locked(self.path, exclusive=True):
            self._write_and_swap(bm25, bm25_en, chunks, generation, doc_freq, stems)
        self._install(bm25, bm25_en, chunks, generation, doc_freq, stems)

    def _write_and_swap(
        self,
        bm25: bm25s.BM25 | None,
        bm25_en: bm25s.BM25 | None,
        chunks: Sequence[Chunk],
        generation: str,
        doc_freq: Counter[str],
        stems: list[frozenset[str]],
    ) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if bm25 is not None:
            bm25.save(str(tmp / "bm25"))
        if bm25_en is not None:
            bm25_en.save(str(tmp / "bm25_en"))
        with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as f:
            for c in chunks:
                record = asdict(c)
                record["topic"] = c.topic.value if c.topic else ""
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        (tmp / "doc_freq.json").write_text(json.dumps(doc_freq))
        # One line per chunk, in chunks.jsonl's order: the coverage signal reads these.
        (tmp / "stems.txt").write_text("".join(" ".join(sorted(x)) + "\n" for x in stems))
        (tmp / "TOKENIZER").write_text(TOKENIZER_VERSION)
        (tmp / "GENERATION").write_text(generation)
        swap_in(tmp, self.path)

    def load(self) -> bool:
        """Load the persisted index; False when there is none yet."""
        gen_file = self.path / "GENERATION"
        version_file = self.path / "TOKENIZER"
        if not gen_file.exists():
            return False
        if not version_file.exists() or version_file.read_text().strip() != TOKENIZER_VERSION:
            logger.info("keyword index built by another tokenizer version: rebuild needed")
            return False
        with locked(self.path, exclusive=False):
            if not gen_file.exists():  # swapped away while we waited
                return False
            generation = gen_file.read_text().strip()
            chunks = []
            with (self.path / "chunks.jsonl").open(encoding="utf-8") as f:
                for line in f:
                    record = json.loads(line)
                    record["topic"] = Topic(record["topic"]) if record["topic"] else None
                    record["sources"] = tuple(record["sources"])
                    chunks.append(Chunk(**record))
            bm25 = bm25s.BM25.load(str(self.path / "bm25")) if chunks else None
            english = self.path / "bm25_en"
            bm25_en = bm25s.BM25.load(str(english)) if chunks and english.exists() else None
            doc_freq = Counter(json.loads((self.path / "doc_freq.json").read_text()))
            stems_file = self.path / "stems.txt"
            stems = (
                [frozenset(line.split()) for line in stems_file.read_text().splitlines()]
                if stems_file.exists()
                else [frozenset(tokenize(c.embedding_text())) for c in chunks]  # older index
            )
        self._install(bm25, bm25_en, chunks, generation, doc_freq, stems)
        return True

    def refresh_if_changed(self, every_s: float = 2.0) -> None:
        """Pick up an index rebuilt by another process (checked at most every `every_s`)."""
        now = time.monotonic()
        if now - self._checked_at < every_s:
            return
        self._checked_at = now
        gen_file = self.path / "GENERATION"
        try:
            generation = gen_file.read_text().strip()
        except FileNotFoundError:
            return
        if generation != self._generation:
            logger.info("index generation %s published by another process, reloading", generation)
            for listener in self.on_new_generation:
                listener()
            self.load()

    @property
    def generation(self) -> str:
        """The stamp of the loaded snapshot; every ingest that changed something publishes one."""
        return self._generation

    def published(self, chunk_id: str) -> bool:
        """Whether `chunk_id` is in the loaded snapshot (always true before there is one)."""
        return not self._chunks or chunk_id in self._by_id

    def _install(
        self,
        bm25: bm25s.BM25 | None,
        bm25_en: bm25s.BM25 | None,
        chunks: list[Chunk],
        generation: str,
        doc_freq: Counter[str],
        stems: list[frozenset[str]],
    ) -> None:
        with self._lock:
            self._stems = dict(zip((c.id for c in chunks), stems, strict=True))
            self._doc_freq = doc_freq
            self._bm25 = bm25
            self._bm25_en = bm25_en
            self._chunks = chunks
            self._by_id = {c.id: i for i, c in enumerate(chunks)}
            self._sections = {}
            for c in chunks:  # chunks are sorted by (doc_id, position)
                self._sections.setdefault((c.doc_id, c.heading), []).append(c)
            self._topics = np.array([c.topic.value if c.topic else "" for c in chunks])
            self._generation = generation

    # -- reading --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._chunks)

    @property
    def chunks(self) -> list[Chunk]:
        return self._chunks

    def idf(self, stem: str) -> float:
        """Inverse document frequency of a stem over the chunks (rare words weigh more)."""
        n = max(1, len(self._chunks))
        df = self._doc_freq.get(stem, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def stems(self, chunk: Chunk) -> frozenset[str]:
        """The stems of `chunk`'s indexed text (as `tokenize` gives them), precomputed."""
        found = self._stems.get(chunk.id)
        if found is None:  # a chunk not in this index (Chroma ahead of it): stemmed here
            found = frozenset(tokenize(chunk.embedding_text()))
        return found

    def section(self, chunk: Chunk) -> list[Chunk]:
        """Every chunk of the section `chunk` belongs to, in order (a long section spans several)."""
        return self._sections.get((chunk.doc_id, chunk.heading), [chunk])

    def get(self, chunk_id: str) -> Chunk | None:
        index = self._by_id.get(chunk_id)
        return self._chunks[index] if index is not None else None

    def search(
        self, query: str, n: int, topic: Topic | None = None, *, english: bool = False
    ) -> list[tuple[Chunk, float]]:
        """Top `n` chunks by BM25 score (only those sharing at least one term with the query);
        `english`: ranked on the texts with their sections' English questions, when there are."""
        self.refresh_if_changed()
        tokens = tokenize(query)
        with self._lock:
            bm25, chunks, topics = self._bm25, self._chunks, self._topics
            if english and self._bm25_en is not None:
                bm25 = self._bm25_en
        if bm25 is None or not tokens:
            return []
        ids = bm25.get_tokens_ids(tokens)
        if not ids:
            return []
        scores = bm25.get_scores_from_ids(ids)
        if topic is not None:
            scores = np.where(topics == topic.value, scores, 0.0)
        n = min(n, len(chunks))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top])]
        return [(chunks[i], float(scores[i])) for i in top if scores[i] > 0]
