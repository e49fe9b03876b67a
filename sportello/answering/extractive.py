"""Extractive composer, answer first: the lead of the best-matching section, then only the
sentences that add a fact the question asks for, with numbered sources.

1. Sections. The retrieved chunks are grouped into their sections (a heading and its text). A
   heading is a question: the section whose heading is closest to the person's question
   (embedding similarity, plus the question words the heading contains and the retrieval rank)
   is the lead section. A document's introduction, whose "heading" is its title, stands back
   for an Italian question that asks no definition.
2. Lead. When that heading asks what the person asked, the section's opening sentence is the
   answer (the knowledge base is written so that it is); otherwise the section's sentence that
   covers the most of the question. A "Sì, …" / "No, …" answers its own heading and leads only
   when that heading asks what the person asked; when the person asked it in another form
   ("che differenza c'è…?" under "è lo stesso…?") and the reply restates its heading, the
   statement leads without its yes or no, as it does under a heading nearly as close as a yes
   or no needs (the question may be the heading turned round: "ce li pagano?" under "esiste
   un minimo?"). A "Dipende…" is no yes or no: it leads any question its heading asks.
3. Additions. At most a few more sentences, each chosen because it adds question words not yet
   covered (or the number a "quanto / entro quando" question wants); from another section only
   when it adds such a fact, or opens a heading asking nearly the same (then its "Sì, …" too,
   when it could have led).
4. Context. A sentence that opens with a reference ("Questi…", "In questo caso…") comes with the
   sentence it leans on or not at all, and an enumeration comes whole or not at all
   (sportello.knowledge.discourse holds both rules). The lead never points back at all, not
   even later in its opening clause ("…non corrisponde a questo impegno").

English questions share no words with the Italian text, so their sentences are scored by the
multilingual embedding instead of by word overlap; a sentence going on with one already in the
answer is read as near as the lead's own.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from sportello.answering.plan import Block, Plan, Section
from sportello.answering.quarantine import is_instruction
from sportello.answering.schemas import Citation
from sportello.knowledge.attribution import cited_source
from sportello.knowledge.discourse import (
    asks_definition,
    asks_yes_no,
    enumerations,
    without_reply,
)
from sportello.knowledge.documents import Chunk
from sportello.knowledge.embeddings import Embedder
from sportello.knowledge.expansion import expand
from sportello.knowledge.headings import lists_references, section_question
from sportello.knowledge.keyword_index import KeywordIndex, tokenize
from sportello.knowledge.retrieval import RetrievedChunk
from sportello.knowledge.sentences import split_sentences
from sportello.knowledge.text_vectors import TextVectors

_ASKS_NUMBER = re.compile(
    r"\b(?:quant[oiae]|quale (?:soglia|limite|percentuale|importo)|entro quando|quando|"
    r"scadenz|termine|limit|soglia|percentual|how (?:much|many|long)|when|deadline|threshold|"
    r"minim|massim|tempi|anni)\w*",
    re.IGNORECASE,
)
# A list asked for (Italian: English questions are composed by meaning, not by these rules).
_ASKS_LIST = re.compile(r"\bquali\b|\belenc\w*", re.IGNORECASE)
_VECTOR_CACHE = 8192  # heading and sentence vectors kept (a few MB); the KB has fewer texts
_SECTION_CACHE = 4096  # sections read (the KB has under a thousand; re-indexed ones age out)


@dataclass(frozen=True)
class SectionText:
    """What a section's text gives the composer whatever the question: its de-duplicated
    sentences with their stems, enumerations and instruction flags, and its heading's stems."""

    heading: str
    heading_tokens: tuple[str, ...]  # `tokenize` order: sums over them add up as before
    heading_stems: frozenset[str]
    sentences: tuple[str, ...]
    stems: tuple[frozenset[str], ...]
    spans: tuple[tuple[int, int], ...]
    instructions: tuple[bool, ...]
    asks_definition: bool  # the heading asks what something is ("Che cos'è…?")


@lru_cache(maxsize=_SECTION_CACHE)
def read_section(heading: str, parts: tuple[str, ...]) -> SectionText:
    """A section (its question and the texts of its chunks, in order) read once: the same
    sections come back at question after question, and splitting, stemming and the checks
    over their sentences were most of the composer's own time. Keyed by the texts, so a
    re-indexed section is read again."""
    sentences: list[str] = []
    known: set[str] = set()
    for part in parts:
        for sentence in split_sentences(part):
            norm = " ".join(sentence.lower().split())
            if norm not in known:  # chunks of a long section overlap by a sentence or two
                known.add(norm)
                sentences.append(sentence)
    heading_tokens = tuple(tokenize(heading))
    return SectionText(
        heading=heading,
        heading_tokens=heading_tokens,
        heading_stems=frozenset(heading_tokens),
        sentences=tuple(sentences),
        stems=tuple(frozenset(tokenize(s)) for s in sentences),
        spans=tuple(enumerations(sentences)),
        instructions=tuple(is_instruction(s) for s in sentences),
        asks_definition=asks_definition(heading),
    )


@dataclass(frozen=True)
class Composition:
    sentences: list[tuple[str, int]]  # (sentence, citation number)
    citations: tuple[Citation, ...]
    # The sections read, best-matching first, and the one the answer leads with (for the
    # benchmark's account of where a missing fact was; replies do not show them).
    read: tuple[Section, ...] = ()
    lead: Section | None = None


class ExtractiveComposer:
    def __init__(
        self,
        keywords: KeywordIndex,
        *,
        headings: TextVectors | None = None,
        sentences: TextVectors | None = None,
        sections: int = 5,
        heading_weight: float = 0.1,
        rank_weight: float = 0.1,
        heading_bar: float = 0.88,
        yes_no_bar: float = 0.92,
        statement_bar: float = 0.89,
        opening_bonus: float = 0.1,
        asked_opening_bonus: float = 0.4,
        definition_bonus: float = 0.2,
        intro_penalty: float = 0.1,
        lead_leans_back: bool = True,
        depends_leads: bool = True,
        semantic_continuation: bool = True,
        near_yes_no: bool = True,
        max_added: int = 4,
        min_new_other: float = 0.1,
        same_question: float = 0.08,
        semantic_margin: float = 0.05,
        semantic_lead: int = 6,
        semantic_opening: int = 2,
        semantic_sections: int = 3,
        lead_sentences: int = 4,
        lead_chars: int = 800,
        block_chars: int = 900,
        max_chars: int = 1500,
    ) -> None:
        self.keywords = keywords
        self.headings = headings  # heading vectors embedded at ingest (else embedded here)
        self.sentences = sentences  # sentence vectors embedded at ingest (else embedded here)
        self.sections = sections  # retrieved chunks whose sections are read
        self.heading_weight = heading_weight  # question words in the heading, in section choice
        self.rank_weight = rank_weight  # retrieval rank, in section choice
        self.heading_bar = heading_bar  # heading similarity above which the section's opening leads
        self.yes_no_bar = yes_no_bar  # heading similarity a "Sì, …" lead needs
        # Below it, down to this bar, the reply's statement leads without its "Sì," / "No,"
        # ("Il 5 per mille non viene pagato se…"): what it states holds whichever way the
        # question is turned, while its yes or no may answer the inverse question.
        self.statement_bar = statement_bar
        self.opening_bonus = opening_bonus  # for the opening of a section that asks this
        self.asked_opening_bonus = asked_opening_bonus  # …more when it asks this very question
        self.definition_bonus = definition_bonus  # a definition's section, when one is asked
        # A document's introduction, in the section choice for an Italian question that asks no
        # definition: its "heading" is the document's title, a topic rather than a question, and
        # the title's words are the topic words the question repeats (heading similarity and the
        # heading's question words both rise), so a specific question ("quanti lavoratori può
        # avere un'APS?") met the APS introduction ahead of the section asking it. English
        # questions share no words with the Italian title. Measured on tune: +3 answers, no loss.
        self.intro_penalty = intro_penalty
        # A lead sentence never leans back (a demonstrative anywhere in its opening clause:
        # "…non corrisponde a questo impegno"): a reply has nothing before its first sentence.
        self.lead_leans_back = lead_leans_back
        self.depends_leads = depends_leads  # "Dipende…" leads any question its heading asks
        self.semantic_continuation = semantic_continuation  # English: a continuation is near
        # A heading nearly as close as the lead's (within `same_question`) asks the same thing
        # in other words: its "Sì, …" / "No, …" opening may follow the lead when it could have
        # led itself (the heading asks this yes/no question, or the reply restates it).
        self.near_yes_no = near_yes_no
        self.max_added = max_added  # sentences added after the lead
        self.min_new_other = min_new_other  # share of the question another section must add
        self.lead_sentences = lead_sentences  # the lead section's opening sentences read on…
        self.lead_chars = lead_chars  # …within this length (an enumeration comes whole)
        self.same_question = same_question  # section score gap of a heading asking the same
        self.semantic_margin = semantic_margin  # English: how far below the best sentence
        self.semantic_lead = semantic_lead  # English: sentences read of the lead section
        self.semantic_opening = semantic_opening  # English: sentences read of other sections
        self.semantic_sections = semantic_sections  # English: sections whose sentences are read
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
        question: np.ndarray | None = None,
    ) -> Composition:
        """The sentences answering `query` from `hits`; `question` is the query's vector when
        the caller has it (else `embedder` embeds it), for heading and English sentence scores."""
        # English questions reach the Italian text through the embedding alone, so the fused
        # ranking is weaker for them: their composer reads further down it.
        # So does a question for a definition: the introduction that gives it often ranks below
        # sections that use the term.
        definition = asks_definition(query)
        depth = self.sections if language == "it" and not definition else len(hits)
        sections = self._sections(hits, depth)
        if not sections:
            return Composition([], ())
        stems = set(tokenize(expand(query)))
        weights = {s: self.keywords.idf(s) for s in stems}
        total = sum(weights.values()) or 1.0
        if question is None and embedder is not None:
            question = np.asarray(embedder.embed_query(query), dtype=np.float32)
        for section in sections:
            section.heading_cover = sum(weights[s] for s in stems & set(section.heading_tokens))
            section.heading_cover /= total
            if question is not None and embedder is not None:
                # An English question is compared with the heading's English twin: the same
                # language, so the same scale as an Italian question against the heading.
                heading = (
                    section.heading_en
                    if language == "en" and section.heading_en
                    else section.heading
                )
                section.heading_sim = float(self._vector(embedder, heading) @ question)
            section.score = (
                section.heading_sim
                + self.heading_weight * section.heading_cover
                + self.rank_weight / (1 + section.hit_index)
                + (self.definition_bonus if definition and section.defines else 0.0)
                - (
                    self.intro_penalty
                    if section.intro and language == "it" and not definition
                    else 0.0
                )
            )
        order = sorted(range(len(sections)), key=lambda i: -sections[i].score)
        semantic = language != "it" and question is not None
        if semantic and embedder is not None:
            # The lead section's first sentences are read, the next sections' openings (which
            # answer their headings); their vectors come from the store the indexer wrote.
            read = order[: self.semantic_sections]
            wanted = [
                sections[i].sentences[: self.semantic_lead if rank == 0 else self.semantic_opening]
                for rank, i in enumerate(read)
            ]
            vectors = iter(self._vectors_of(embedder, [t for texts in wanted for t in texts]))
            for i, texts in zip(read, wanted, strict=False):
                sims = [float(next(vectors) @ question) for _ in texts]
                sections[i].sims = sims + [-1.0] * (len(sections[i].sentences) - len(sims))
        plan = Plan(
            self,
            sections,
            weights,
            total,
            bool(_ASKS_NUMBER.search(query)),
            semantic,
            yes_no=asks_yes_no(query),
            wants_list=bool(_ASKS_LIST.search(query)),
        )
        blocks = plan.build(order)
        return _composition(blocks, sections, hits, order)

    def warm(self) -> int:
        """Read every section of the loaded index into the section cache (a second or less
        for the whole knowledge base), so the first replies after a start do not pay for it.
        Returns the number of sections read."""
        read: set[tuple[str, str]] = set()
        for chunk in self.keywords.chunks:
            if len(read) == _SECTION_CACHE:  # more would push the first ones out again
                break
            if (chunk.doc_id, chunk.heading) not in read:
                read.add((chunk.doc_id, chunk.heading))
                self._read(chunk)
        return len(read)

    # -- helpers ------------------------------------------------------------------------------
    def _read(self, chunk: Chunk) -> SectionText:
        """The section `chunk` belongs to, read (or found in the cache)."""
        parts = tuple(part.text for part in self.keywords.section(chunk))
        return read_section(section_question(chunk), parts)

    def _sections(self, hits: list[RetrievedChunk], depth: int) -> list[Section]:
        """The sections of the top hits, best-ranked first, each with its de-duplicated sentences."""
        out: list[Section] = []
        seen: set[tuple[str, str]] = set()
        for hit_index, hit in enumerate(hits[:depth]):
            key = (hit.chunk.doc_id, hit.chunk.heading)
            if key in seen or lists_references(hit.chunk):
                continue
            seen.add(key)
            text = self._read(hit.chunk)
            if not text.sentences:
                continue
            intro = not hit.chunk.heading  # a document's introduction: its title heads it
            out.append(
                Section(
                    hit_index=hit_index,
                    heading=text.heading,
                    sentences=text.sentences,
                    stems=text.stems,
                    spans=text.spans,
                    heading_tokens=text.heading_tokens,
                    heading_stems=text.heading_stems,
                    instructions=text.instructions,
                    defines=intro or text.asks_definition,
                    intro=intro,
                    heading_en=hit.chunk.question_en,
                )
            )
        return out

    def _vector(self, embedder: Embedder, text: str) -> np.ndarray:
        """A heading embedded as a query: headings are questions, compared with a question.
        The knowledge base's headings come from the store the indexer wrote."""
        if self.headings is not None:
            stored = self.headings.vector(text, embedder)
            if stored is not None:
                return stored
        key = f"q:{text}"
        vector = self._vectors.get(key)
        if vector is None:
            vector = np.asarray(embedder.embed_query(text), dtype=np.float32)
            self._remember(key, vector)
        return vector

    def _vectors_of(self, embedder: Embedder, texts: list[str]) -> list[np.ndarray]:
        """Sentences embedded as passages: from the store the indexer wrote (which embeds and
        keeps what it lacks), else embedded here (one batch for the ones not seen before)."""
        if self.sentences is not None:
            return self.sentences.vectors(texts, embedder)
        missing = [t for t in dict.fromkeys(texts) if f"p:{t}" not in self._vectors]
        if missing:
            for text, vector in zip(missing, embedder.embed_documents(missing), strict=True):
                self._remember(f"p:{text}", np.asarray(vector, dtype=np.float32))
        return [self._vectors[f"p:{t}"] for t in texts]

    def _remember(self, key: str, vector: np.ndarray) -> None:
        self._vectors[key] = vector
        if len(self._vectors) > _VECTOR_CACHE:
            self._vectors.popitem(last=False)


def _composition(
    blocks: list[Block], sections: list[Section], hits: list[RetrievedChunk], order: list[int]
) -> Composition:
    numbers: dict[int, int] = {}
    quoted: dict[int, list[str]] = {}  # per hit cited: the sentences quoted from its section
    sentences: list[tuple[str, int]] = []
    for block in blocks:
        section = sections[block.section]
        numbers.setdefault(section.hit_index, len(numbers) + 1)
        for position in range(block.start, block.end):
            sentence = section.sentences[position]
            if block.bare and position == block.start:
                sentence = without_reply(sentence) or sentence
            sentences.append((sentence, numbers[section.hit_index]))
            quoted.setdefault(section.hit_index, []).append(sentence)
    citations = tuple(
        Citation(
            number=number,
            doc_id=(chunk := hits[index].chunk).doc_id,
            chunk_id=chunk.id,
            title=chunk.title,
            heading=chunk.heading,
            # The source the quoted sentences rest on, not the document's first.
            link=cited_source(chunk.sources, " ".join(quoted[index])),
        )
        for index, number in numbers.items()
    )
    read = tuple(sections[i] for i in order)
    return Composition(sentences, citations, read, sections[blocks[0].section] if blocks else None)


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
