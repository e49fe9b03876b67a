"""Extractive composer, answer first: the lead of the best-matching section, then only the
sentences that add a fact the question asks for, with numbered sources.

1. Sections. The retrieved chunks are grouped into their sections (a heading and its text). A
   heading is a question: the section whose heading is closest to the person's question
   (embedding similarity, plus the question words the heading contains and the retrieval rank)
   is the lead section.
2. Lead. When that heading asks what the person asked, the section's opening sentence is the
   answer (the knowledge base is written so that it is); otherwise the section's sentence that
   covers the most of the question. A "Sì, …" / "No, …" answers its own heading and leads only
   when that heading asks what the person asked.
3. Additions. At most a few more sentences, each chosen because it adds question words not yet
   covered (or the number a "quanto / entro quando" question wants); from another section only
   when it adds such a fact.
4. Context. A sentence that opens with a reference ("Questi…", "In questo caso…") comes with the
   sentence it leans on or not at all, and an enumeration comes whole or not at all
   (sportello.knowledge.discourse holds both rules).

English questions share no words with the Italian text, so their sentences are scored by the
multilingual embedding instead of by word overlap.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from sportello.answering.quarantine import is_instruction
from sportello.answering.schemas import Citation
from sportello.knowledge.discourse import answers_yes_no, enumerations, opens_with_reference
from sportello.knowledge.embeddings import Embedder
from sportello.knowledge.expansion import expand
from sportello.knowledge.keyword_index import KeywordIndex, tokenize
from sportello.knowledge.retrieval import RetrievedChunk
from sportello.knowledge.sentences import split_sentences

_ASKS_NUMBER = re.compile(
    r"\b(?:quant[oiae]|quale (?:soglia|limite|percentuale|importo)|entro quando|quando|"
    r"scadenz|termine|limit|soglia|percentual|how (?:much|many|long)|when|deadline|threshold|"
    r"minim|massim|tempi|anni)\w*",
    re.IGNORECASE,
)
_HAS_NUMBER = re.compile(r"\d")
_VECTOR_CACHE = 8192  # heading and sentence vectors kept (a few MB); the KB has fewer texts


@dataclass(frozen=True)
class Composition:
    sentences: list[tuple[str, int]]  # (sentence, citation number)
    citations: tuple[Citation, ...]


@dataclass
class _Section:
    """One section of the retrieved text: its sentences and how well its heading matches."""

    hit_index: int  # its best-ranked retrieved chunk (the one cited)
    heading: str
    sentences: list[str]
    stems: list[frozenset[str]]
    spans: list[tuple[int, int]]  # enumerations: kept whole or left out
    heading_sim: float = 0.0
    heading_cover: float = 0.0
    score: float = 0.0
    sims: list[float] = field(default_factory=list)  # sentence-question similarity (English)


@dataclass(frozen=True)
class _Block:
    """A run of consecutive sentences of one section that reads on its own."""

    section: int
    start: int
    end: int


class ExtractiveComposer:
    def __init__(
        self,
        keywords: KeywordIndex,
        *,
        sections: int = 5,
        heading_weight: float = 0.1,
        rank_weight: float = 0.1,
        heading_bar: float = 0.88,
        yes_no_bar: float = 0.92,
        opening_bonus: float = 0.1,
        max_added: int = 4,
        min_new_other: float = 0.1,
        same_question: float = 0.08,
        semantic_margin: float = 0.05,
        lead_sentences: int = 4,
        lead_chars: int = 800,
        block_chars: int = 900,
        max_chars: int = 1500,
    ) -> None:
        self.keywords = keywords
        self.sections = sections  # retrieved chunks whose sections are read
        self.heading_weight = heading_weight  # question words in the heading, in section choice
        self.rank_weight = rank_weight  # retrieval rank, in section choice
        self.heading_bar = heading_bar  # heading similarity above which the section's opening leads
        self.yes_no_bar = yes_no_bar  # heading similarity a "Sì, …" lead needs
        self.opening_bonus = opening_bonus  # for the opening of a section that asks this
        self.max_added = max_added  # sentences added after the lead
        self.min_new_other = min_new_other  # share of the question another section must add
        self.lead_sentences = lead_sentences  # the lead section's opening sentences read on…
        self.lead_chars = lead_chars  # …within this length (an enumeration comes whole)
        self.same_question = same_question  # section score gap of a heading asking the same
        self.semantic_margin = semantic_margin  # English: how far below the best sentence
        self.block_chars = block_chars  # longest enumeration or reference chain taken along
        self.max_chars = max_chars  # the whole reply's sentences
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    # -- public API ---------------------------------------------------------------------------
    def compose(
        self,
        query: str,
        hits: list[RetrievedChunk],
        *,
        language: str = "it",
        embedder: Embedder | None = None,
    ) -> Composition:
        # English questions reach the Italian text through the embedding alone, so the fused
        # ranking is weaker for them: their composer reads further down it.
        sections = self._sections(hits, self.sections if language == "it" else len(hits))
        if not sections:
            return Composition([], ())
        stems = set(tokenize(expand(query)))
        weights = {s: self.keywords.idf(s) for s in stems}
        total = sum(weights.values()) or 1.0
        question = embedder.embed_query(query) if embedder is not None else None
        for section in sections:
            section.heading_cover = sum(weights[s] for s in stems & set(tokenize(section.heading)))
            section.heading_cover /= total
            if question is not None and embedder is not None:
                section.heading_sim = float(self._vector(embedder, section.heading) @ question)
            section.score = (
                section.heading_sim
                + self.heading_weight * section.heading_cover
                + self.rank_weight / (1 + section.hit_index)
            )
        order = sorted(range(len(sections)), key=lambda i: -sections[i].score)
        semantic = language != "it" and question is not None
        if semantic and embedder is not None:
            for i in order[:3]:
                texts = sections[i].sentences
                sections[i].sims = [float(v @ question) for v in self._vectors_of(embedder, texts)]
        plan = _Plan(self, sections, weights, total, bool(_ASKS_NUMBER.search(query)), semantic)
        blocks = plan.build(order)
        return _composition(blocks, sections, hits)

    # -- helpers ------------------------------------------------------------------------------
    def _sections(self, hits: list[RetrievedChunk], depth: int) -> list[_Section]:
        """The sections of the top hits, best-ranked first, each with its de-duplicated sentences."""
        out: list[_Section] = []
        seen: set[tuple[str, str]] = set()
        for hit_index, hit in enumerate(hits[:depth]):
            key = (hit.chunk.doc_id, hit.chunk.heading)
            if key in seen:
                continue
            seen.add(key)
            sentences: list[str] = []
            known: set[str] = set()
            for part in self.keywords.section(hit.chunk):
                for sentence in split_sentences(part.text):
                    norm = " ".join(sentence.lower().split())
                    if norm not in known:  # chunks of a long section overlap by a sentence or two
                        known.add(norm)
                        sentences.append(sentence)
            if not sentences:
                continue
            heading = hit.chunk.heading.split(" › ")[-1].strip() or hit.chunk.title
            if not heading.endswith("?") and heading != hit.chunk.title:
                heading = f"{hit.chunk.title}: {heading}"  # "Riferimenti" alone says nothing
            out.append(
                _Section(
                    hit_index=hit_index,
                    heading=heading,
                    sentences=sentences,
                    stems=[frozenset(tokenize(s)) for s in sentences],
                    spans=enumerations(sentences),
                )
            )
        return out

    def _vector(self, embedder: Embedder, text: str) -> np.ndarray:
        """A heading embedded as a query: headings are questions, compared with a question."""
        key = f"q:{text}"
        vector = self._vectors.get(key)
        if vector is None:
            vector = np.asarray(embedder.embed_query(text), dtype=np.float32)
            self._remember(key, vector)
        return vector

    def _vectors_of(self, embedder: Embedder, texts: list[str]) -> list[np.ndarray]:
        """Sentences embedded as passages (one batch for the ones not seen before)."""
        missing = [t for t in dict.fromkeys(texts) if f"p:{t}" not in self._vectors]
        if missing:
            for text, vector in zip(missing, embedder.embed_documents(missing), strict=True):
                self._remember(f"p:{text}", np.asarray(vector, dtype=np.float32))
        return [self._vectors[f"p:{t}"] for t in texts]

    def _remember(self, key: str, vector: np.ndarray) -> None:
        self._vectors[key] = vector
        if len(self._vectors) > _VECTOR_CACHE:
            self._vectors.popitem(last=False)


class _Plan:
    """The choice of blocks for one question (lead first, then additions)."""

    def __init__(
        self,
        composer: ExtractiveComposer,
        sections: list[_Section],
        weights: dict[str, float],
        total: float,
        wants_number: bool,
        semantic: bool,
    ) -> None:
        self.c = composer
        self.sections = sections
        self.weights = weights
        self.total = total
        self.wants_number = wants_number
        self.semantic = semantic
        self.covered: set[str] = set()
        self.taken: set[tuple[int, int]] = set()
        self.chars = 0

    def build(self, order: list[int]) -> list[_Block]:
        lead_section = order[0]
        lead = self._lead(lead_section)
        if lead is None:
            for index in order[1:]:
                lead = self._lead(index)
                if lead is not None:
                    lead_section = index
                    break
        if lead is None:
            return []
        blocks = [lead]
        self._take(lead)
        added = 0
        while added < self.c.max_added:
            best: tuple[float, _Block] | None = None
            for index in order:
                for position in range(len(self.sections[index].sentences)):
                    candidate = self._addition(index, position, lead_section, lead)
                    if candidate is not None and (best is None or candidate[0] > best[0]):
                        best = candidate
            if best is None:
                break
            block = best[1]
            blocks.append(block)
            self._take(block)
            added += block.end - block.start
        return _ordered(blocks, lead_section)

    # -- the lead -----------------------------------------------------------------------------
    def _lead(self, index: int) -> _Block | None:
        section = self.sections[index]
        # The heading asks this question: close in meaning, or holding most of its words.
        matches = section.heading_sim >= self.c.heading_bar or section.heading_cover >= 0.5
        ranked = sorted(
            range(len(section.sentences)),
            key=lambda p: -self._sentence_score(section, p, opening_bonus=matches),
        )
        for position in ranked:
            block = self._block(index, position, lead=True)
            if block is None:
                continue
            if (
                answers_yes_no(section.sentences[block.start])
                and section.heading_sim < self.c.yes_no_bar
            ):
                continue  # it answers its own heading, not necessarily this question
            return self._read_on(block, self.c.lead_sentences if matches else 2)

        return None

    def _read_on(self, block: _Block, sentences: int) -> _Block:
        """The lead with the sentences after it in its section, while they fit: a section
        answers its heading in its first few sentences."""
        section = self.sections[block.section]
        while block.end < len(section.sentences):
            text = " ".join(section.sentences[block.start : block.end])
            if block.end - block.start >= sentences and len(text) >= 80:
                break  # ("Sì." alone says too little: its explanation always comes along)
            following = self._block(block.section, block.end, lead=True)
            if following is None or following.start < block.start:
                break
            grown = _Block(block.section, block.start, following.end)
            if len(text) >= 80 and self._length(grown) > self.c.lead_chars:
                break
            block = grown
        return block

    def _sentence_score(self, section: _Section, position: int, *, opening_bonus: bool) -> float:
        stems = section.stems[position]
        if self.semantic and section.sims:
            score = section.sims[position]
        else:
            score = sum(self.weights[s] for s in stems & self.weights.keys()) / self.total
        if self.wants_number and _HAS_NUMBER.search(section.sentences[position]):
            score += 0.1
        if position == 0:
            score += self.c.opening_bonus if opening_bonus else 0.05
            if section.heading_sim >= self.c.yes_no_bar and answers_yes_no(section.sentences[0]):
                score += 1.0  # "Sì, …" under a heading asking this very question: the answer
        return score

    # -- additions ----------------------------------------------------------------------------
    def _addition(
        self, index: int, position: int, lead_section: int, lead: _Block
    ) -> tuple[float, _Block] | None:
        if (index, position) in self.taken:
            return None
        section = self.sections[index]
        sentence = section.sentences[position]
        if answers_yes_no(sentence):
            return None  # a yes/no reply belongs under its own heading
        block = self._block(index, position, lead=False)
        if block is None or any((index, p) in self.taken for p in range(block.start, block.end)):
            return None
        if self.chars + self._length(block) > self.c.max_chars:
            return None
        if any(_similar(section.stems[position], self.sections[i].stems[p]) for i, p in self.taken):
            return None  # several documents often say the same thing: say it once
        stems: set[str] = set()
        for p in range(block.start, block.end):
            stems |= section.stems[p]
        asked = stems & self.weights.keys()
        cover = sum(self.weights[s] for s in asked) / self.total
        new = sum(self.weights[s] for s in asked - self.covered) / self.total
        number = self.wants_number and bool(_HAS_NUMBER.search(sentence))
        same = index == lead_section
        gap = self.sections[lead_section].score - section.score
        # A heading nearly as close to the question as the lead's asks the same thing in other
        # words: its opening sentence (which answers it) is part of the answer.
        opening = not same and gap <= self.c.same_question and block.start == 0
        if self.semantic:
            similarity = section.sims[position] if section.sims else 0.0
            best = max((max(s.sims) for s in self.sections if s.sims), default=0.0)
            if similarity < best - (self.c.semantic_margin * (2 if same or opening else 1)):
                return None
            gain = similarity + (0.01 if same or opening else 0.0)
        else:
            # The lead section is about the question; another section only when it adds a
            # question word, the number asked for, or answers a neighbouring heading.
            if not (same or opening or new >= self.c.min_new_other or (number and new > 0)):
                return None
            gain = new + 0.5 * cover + 0.1 * number + 0.1 * (same or opening) - 0.5 * max(gap, 0)
        gain -= 0.02 * (block.end - block.start - 1)  # a long block must earn its length
        return gain, block

    # -- context rules ------------------------------------------------------------------------
    def _block(self, index: int, position: int, *, lead: bool) -> _Block | None:
        """The smallest run around `position` that reads on its own, or None.

        A sentence that opens with a reference brings the sentence before it (and so on, up to
        three); a sentence inside an enumeration brings the whole enumeration.
        """
        section = self.sections[index]
        start, end = position, position + 1
        for _ in range(4):
            steps = 0
            while start > 0 and opens_with_reference(section.sentences[start]) and steps < 3:
                start -= 1
                steps += 1
            if opens_with_reference(section.sentences[start]):
                return None  # leans on something we cannot show
            grown = False
            for span_start, span_end in section.spans:
                if span_start < end and start < span_end and (span_start < start or span_end > end):
                    start, end = min(start, span_start), max(end, span_end)
                    grown = True
            if not grown:
                break
        text = section.sentences[start:end]
        if any(is_instruction(s) for s in text):
            return None  # an order to the assistant hidden in a document is not content
        if start != position and answers_yes_no(text[0]) and not lead:
            return None
        limit = self.c.block_chars * (2 if lead else 1)
        if len(" ".join(text)) > limit:
            return None  # an enumeration too long to quote whole is left out
        return _Block(index, start, end)

    def _length(self, block: _Block) -> int:
        return len(" ".join(self.sections[block.section].sentences[block.start : block.end]))

    def _take(self, block: _Block) -> None:
        section = self.sections[block.section]
        for p in range(block.start, block.end):
            self.taken.add((block.section, p))
            self.covered |= section.stems[p] & self.weights.keys()
        self.chars += self._length(block)


def _similar(a: frozenset[str], b: frozenset[str], threshold: float = 0.65) -> bool:
    """Whether most of the shorter sentence's words are in the other (a paraphrase)."""
    shorter = min(len(a), len(b))
    return shorter > 0 and len(a & b) / shorter >= threshold


def _ordered(blocks: list[_Block], lead_section: int) -> list[_Block]:
    """Lead first; then the lead section's other blocks in reading order; then the others."""
    lead, rest = blocks[0], blocks[1:]
    same = sorted((b for b in rest if b.section == lead_section), key=lambda b: b.start)
    after = [b for b in same if b.start >= lead.end]
    before = [b for b in same if b.start < lead.end]
    others = sorted(
        (b for b in rest if b.section != lead_section), key=lambda b: (b.section, b.start)
    )
    return [lead, *after, *before, *others]


def _composition(
    blocks: list[_Block], sections: list[_Section], hits: list[RetrievedChunk]
) -> Composition:
    numbers: dict[int, int] = {}
    citations: list[Citation] = []
    sentences: list[tuple[str, int]] = []
    for block in blocks:
        section = sections[block.section]
        if section.hit_index not in numbers:
            chunk = hits[section.hit_index].chunk
            numbers[section.hit_index] = len(citations) + 1
            citations.append(
                Citation(
                    number=len(citations) + 1,
                    doc_id=chunk.doc_id,
                    chunk_id=chunk.id,
                    title=chunk.title,
                    heading=chunk.heading,
                    link=chunk.link,
                )
            )
        for sentence in section.sentences[block.start : block.end]:
            sentences.append((sentence, numbers[section.hit_index]))
    return Composition(sentences, tuple(citations))


def render(composition: Composition, opening: str = "") -> str:
    """The sentences, one paragraph per run of one source ending with [n]; an optional opening."""
    paragraphs: list[str] = []
    current: list[str] = []
    current_number = None
    for sentence, number in composition.sentences:
        if number != current_number and current:
            paragraphs.append(f"{' '.join(current)} [{current_number}]")
            current = []
        current_number = number
        current.append(sentence.rstrip())
    if current:
        paragraphs.append(f"{' '.join(current)} [{current_number}]")
    return "\n\n".join([opening, *paragraphs] if opening else paragraphs)
