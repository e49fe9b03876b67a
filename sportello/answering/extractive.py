"""Extractive composer: the question-focused sentences of the top chunks, with numbered sources.

Each sentence of the best chunks is scored by how much of the question it covers (stems
weighted by IDF), with small boosts for the chunk's rank, a heading that matches the question,
and a number when the question asks for one. The best 2–6 sentences are kept, in reading order
(by source, then by position), each followed by its source number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sportello.answering.quarantine import is_instruction
from sportello.answering.schemas import Citation
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


@dataclass(frozen=True)
class Selected:
    hit_index: int
    position: int
    sentence: str
    score: float
    stems: frozenset[str] = frozenset()  # the question's stems this sentence contains
    words: frozenset[str] = frozenset()  # all its stems, to spot repetitions


@dataclass(frozen=True)
class Composition:
    sentences: list[tuple[str, int]]  # (sentence, citation number)
    citations: tuple[Citation, ...]


class ExtractiveComposer:
    def __init__(
        self,
        keywords: KeywordIndex,
        *,
        max_sentences: int = 6,
        min_sentences: int = 2,
        chunks: int = 4,
        relative_cutoff: float = 0.4,
        primary_bonus: float = 0.0,
        seeds: int = 6,
        follow_cutoff: float = 0.3,
        heading_match: float = 0.5,
        section_sentences: int = 4,
    ) -> None:
        self.keywords = keywords
        self.max_sentences = max_sentences
        self.min_sentences = min_sentences
        self.chunks = chunks
        self.relative_cutoff = relative_cutoff
        self.primary_bonus = primary_bonus
        self.seeds = seeds
        self.follow_cutoff = follow_cutoff
        self.heading_match = heading_match
        self.section_sentences = section_sentences

    def select(self, query: str, hits: list[RetrievedChunk]) -> list[Selected]:
        stems = set(tokenize(expand(query)))
        weights = {s: self.keywords.idf(s) for s in stems}
        total = sum(weights.values()) or 1.0
        wants_number = bool(_ASKS_NUMBER.search(query))
        candidates: list[Selected] = []
        seen: set[str] = set()
        heading_covers: list[float] = []
        for hit_index, hit in enumerate(hits[: self.chunks]):
            heading_stems = set(tokenize(hit.chunk.heading))
            heading_cover = sum(weights[s] for s in stems & heading_stems) / total
            heading_covers.append(heading_cover)
            # The whole section answers its heading's question, even when it was split.
            section = self.keywords.section(hit.chunk)
            sentences = [x for part in section for x in split_sentences(part.text)]
            for position, sentence in enumerate(sentences):
                key = " ".join(sentence.lower().split())
                if key in seen or len(sentence) < 25 or is_instruction(sentence):
                    continue  # an order to the assistant hidden in a document is not content
                seen.add(key)
                sentence_stems = set(tokenize(sentence))
                cover = sum(weights[s] for s in stems & sentence_stems) / total
                score = cover + 0.25 * heading_cover + 0.15 / (1 + hit_index)
                if hit_index == 0:
                    # The best chunk is a section whose heading is the question it answers:
                    # its sentences are the answer's backbone, so they rank first.
                    score += self.primary_bonus
                if position == 0:
                    score += 0.05
                if wants_number and _HAS_NUMBER.search(sentence):
                    score += 0.15
                candidates.append(
                    Selected(
                        hit_index,
                        position,
                        sentence,
                        score,
                        frozenset(stems & sentence_stems),
                        frozenset(sentence_stems),
                    )
                )
        if not candidates:
            return []
        best = max(c.score for c in candidates)
        by_place = {(c.hit_index, c.position): c for c in candidates}
        chosen: list[Selected] = []
        covered: set[str] = set()

        def gain(c: Selected) -> float:
            # Relevance, plus the weight of question words no chosen sentence covers yet:
            # a reply about "annuale e straordinaria" needs a sentence on each.
            return c.score + sum(weights[s] for s in c.stems - covered) / total

        pool = list(candidates)
        if heading_covers and heading_covers[0] >= self.heading_match:
            # The best section's heading asks this very question: its opening sentences are
            # the answer, in the author's order; the other sources only complete it.
            opening = sorted((c for c in pool if c.hit_index == 0), key=lambda c: c.position)
            for candidate in opening[: self.section_sentences]:
                pool.remove(candidate)
                chosen.append(candidate)
                covered |= candidate.stems
        while pool and len(chosen) < self.max_sentences:
            candidate = max(pool, key=gain)
            pool.remove(candidate)
            if len(chosen) >= self.min_sentences and candidate.score < self.relative_cutoff * best:
                break
            if any(_similar(candidate, c) for c in chosen):
                continue  # several documents often say the same thing: say it once
            chosen.append(candidate)
            covered |= candidate.stems
            # The next sentence usually completes this one ("… entro il 30 settembre",
            # "… nel rispetto dei principi di …"): take it along while there is room.
            follower = by_place.get((candidate.hit_index, candidate.position + 1))
            if (
                follower is not None
                and follower in pool
                and len(chosen) < self.max_sentences
                and follower.score >= self.follow_cutoff * best
                and not any(_similar(follower, c) for c in chosen)
            ):
                pool.remove(follower)
                chosen.append(follower)
                covered |= follower.stems
        return sorted(chosen, key=lambda c: (c.hit_index, c.position))

    def compose(self, query: str, hits: list[RetrievedChunk]) -> Composition:
        chosen = self.select(query, hits)
        numbers: dict[int, int] = {}
        citations: list[Citation] = []
        sentences: list[tuple[str, int]] = []
        for item in chosen:
            if item.hit_index not in numbers:
                chunk = hits[item.hit_index].chunk
                numbers[item.hit_index] = len(citations) + 1
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
            sentences.append((item.sentence, numbers[item.hit_index]))
        return Composition(sentences, tuple(citations))


def _similar(a: Selected, b: Selected, threshold: float = 0.65) -> bool:
    """Whether most of the shorter sentence's words are in the other (a paraphrase)."""
    shorter = min(len(a.words), len(b.words))
    return shorter > 0 and len(a.words & b.words) / shorter >= threshold


def render(composition: Composition, opening: str) -> str:
    """Opening line, then one paragraph per source, each sentence run ending with [n]."""
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
    return "\n\n".join([opening, *paragraphs])
