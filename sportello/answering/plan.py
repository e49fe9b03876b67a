"""The choice of sentences for one extractive answer: the lead block, then the additions, under
the context rules (a reference comes with what it leans on, an enumeration whole)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from sportello.knowledge.discourse import (
    answers_any_question,
    answers_yes_no,
    leans_back,
    opens_with_reference,
    without_reply,
)

if TYPE_CHECKING:
    from sportello.answering.extractive import ExtractiveComposer

HAS_NUMBER = re.compile(r"\d")
RESTATES = 0.6  # share of its heading's words a "Sì, …" / "No, …" repeats to stand alone
ASKED = 0.7  # share of the question's weighted words a "Sì, …" / "No, …" repeats to reply to it


def restates_heading(section: Section, position: int) -> bool:
    """Whether a yes/no reply names what it answers ("No, per tenere il libro soci non serve
    il consenso": most of its heading's words), so it reads right under another question;
    "Sì, se svolge l'incarico gratuitamente" does not."""
    heading = section.heading_stems
    return bool(heading) and len(heading & section.stems[position]) / len(heading) >= RESTATES


@dataclass
class Section:
    """One section of the retrieved text: its sentences and how well its heading matches.
    What depends on the text alone (sentences, stems, enumerations, instructions) is worked
    out once per section text (extractive.read_section), never per question."""

    hit_index: int  # its best-ranked retrieved chunk (the one cited)
    heading: str
    sentences: Sequence[str]
    stems: Sequence[frozenset[str]]
    spans: Sequence[tuple[int, int]]  # enumerations: kept whole or left out
    heading_tokens: tuple[str, ...]
    heading_stems: frozenset[str]
    instructions: Sequence[bool]  # per sentence: an order to the assistant (quarantine)
    defines: bool = False  # a document's introduction, or a heading asking what something is
    intro: bool = False  # a document's introduction (its title stands for the heading)
    heading_en: str = ""  # the heading's English twin ("" when the document gives none)
    heading_sim: float = 0.0
    heading_cover: float = 0.0
    score: float = 0.0
    sims: list[float] = field(default_factory=list)  # sentence-question similarity (English)


@dataclass(frozen=True)
class Block:
    """A run of consecutive sentences of one section that reads on its own."""

    section: int
    start: int
    end: int
    bare: bool = False  # its first sentence is read without its "Sì," / "No," (without_reply)


class Plan:
    """The choice of blocks for one question (lead first, then additions)."""

    def __init__(
        self,
        composer: ExtractiveComposer,
        sections: list[Section],
        weights: dict[str, float],
        total: float,
        wants_number: bool,
        semantic: bool,
        yes_no: bool = True,
        wants_list: bool = False,
    ) -> None:
        self.c = composer
        self.sections = sections
        self.weights = weights
        self.total = total
        self.wants_number = wants_number
        self.semantic = semantic
        self.yes_no = yes_no  # a "Sì, …" or "No, …" can answer the question (not "come…?")
        self.wants_list = wants_list  # "quali sono…?": the items of a list are the answer
        self.covered: set[str] = set()
        self.taken: set[tuple[int, int]] = set()
        self._taken_order: list[tuple[int, int]] = []  # `taken` as it grew
        # Per candidate sentence: how many of `_taken_order` it was found unlike (the rounds
        # only add taken sentences, so each pair is compared once), or -1 once one is alike.
        self._unlike: dict[tuple[int, int], int] = {}
        self.chars = 0
        self._blocks: dict[tuple[int, int, bool], Block | None] = {}

    def build(self, order: list[int]) -> list[Block]:
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
            best: tuple[float, Block] | None = None
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
        return ordered(blocks, lead_section)

    # -- the lead -----------------------------------------------------------------------------
    def _lead(self, index: int) -> Block | None:
        section = self.sections[index]
        matches = self._asks_this(section)
        ranked = sorted(
            range(len(section.sentences)),
            key=lambda p: -self._sentence_score(section, p, opening_bonus=matches),
        )
        for position in ranked:
            block = self._block(index, position, lead=True)
            if block is None or (
                self.c.lead_leans_back and leans_back(section.sentences[block.start])
            ):
                continue  # a reply has nothing before its first sentence to lean on
            if answers_yes_no(section.sentences[block.start]) and not self._reply_leads(
                section, block.start
            ):
                if not self._statement_leads(section, block.start, matches):
                    continue  # it answers its own heading, not necessarily this question
                block = replace(block, bare=True)
            return self._read_on(block, self.c.lead_sentences if matches else 2)

        return None

    def _asks_this(self, section: Section) -> bool:
        """The heading asks this question: close in meaning, or holding most of its words."""
        return section.heading_sim >= self.c.heading_bar or section.heading_cover >= 0.5

    def _reply_leads(self, section: Section, position: int) -> bool:
        """A "Sì, …" / "No, …" leads a yes/no question whose heading asks the same thing, or
        names what it answers; a "Dipende…" leads any question its heading asks (the bar at
        which the section's opening leads at all: "Dipende" is no yes or no to get wrong)."""
        depends = self.c.depends_leads and answers_any_question(section.sentences[position])
        if depends and self._asks_this(section):
            return True
        return (self.yes_no or depends) and (
            section.heading_sim >= self.c.yes_no_bar
            or restates_heading(section, position)
            or self._restates_question(section, position)
        )

    def _restates_question(self, section: Section, position: int) -> bool:
        """Whether a yes/no reply says what the person asked in their own words ("No, le quote
        associative non sono tassate" to "le quote associative sono tassate?") although its
        heading asks more ("Le quote associative e le attività per i soci pagano l'IVA?")."""
        return self._share(section.stems[position]) >= ASKED

    def _share(self, stems: set[str] | frozenset[str]) -> float:
        """The share of the question's weighted words among `stems`."""
        return sum(self.weights[s] for s in stems & self.weights.keys()) / self.total

    def _statement_leads(self, section: Section, position: int, matches: bool) -> bool:
        """The statement of a yes/no reply leads, without its yes or no, a question that asks
        the same thing in another form ("che differenza c'è…?" under "è lo stesso…?"): the
        heading matches it and the reply restates the heading; or a yes/no question whose
        heading is nearly as close as a "Sì, …" needs (`statement_bar`), where the question
        may be the heading's turned round ("ce li pagano lo stesso?" under "esiste un
        importo minimo?") and only the statement is sure to answer it."""
        if without_reply(section.sentences[position]) is None:
            return False
        if self.yes_no:
            return section.heading_sim >= self.c.statement_bar
        return matches and restates_heading(section, position)

    def _read_on(self, block: Block, sentences: int) -> Block:
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
            grown = replace(block, end=following.end)
            if len(text) >= 80 and self._length(grown) > self.c.lead_chars:
                break
            block = grown
        return block

    def _sentence_score(self, section: Section, position: int, *, opening_bonus: bool) -> float:
        semantic = self.semantic and bool(section.sims)
        score = section.sims[position] if semantic else self._share(section.stems[position])
        if self.wants_number and HAS_NUMBER.search(section.sentences[position]):
            score += 0.1
        if position == 0:
            score += self.c.opening_bonus if opening_bonus else 0.05
            if not self.semantic and section.heading_sim >= self.c.yes_no_bar:
                # The heading asks this very question, and the knowledge base answers a
                # heading in its section's first sentences (tests/knowledge/test_section_leads):
                # the opening leads, not a later sentence that shares more of the words.
                score += self.c.asked_opening_bonus
            if (
                self.yes_no
                and section.heading_sim >= self.c.yes_no_bar
                and answers_yes_no(section.sentences[0])
            ):
                score += 1.0  # "Sì, …" under a heading asking this very question: the answer
        return score

    # -- additions ----------------------------------------------------------------------------
    def _addition(
        self, index: int, position: int, lead_section: int, lead: Block
    ) -> tuple[float, Block] | None:
        if (index, position) in self.taken:
            return None
        section = self.sections[index]
        sentence = section.sentences[position]
        bare = False
        if answers_yes_no(sentence):
            reply = self._near_reply(index, position, lead_section)
            if reply is None:
                return None  # a yes/no reply belongs under its own heading
            bare = reply == "statement"
        block = self._block(index, position, lead=False)
        if block is None:
            return None
        if bare:
            block = replace(block, bare=True)
        whole = block
        block = self._continuation(block)
        if block is None:
            return None
        # It leans on a sentence already in the answer: it goes on with that sentence's fact.
        continues = block.start > whole.start
        # A list asked for, announced right after a sentence already in the answer.
        listed = (
            self.wants_list
            and any(start == block.start for start, _ in section.spans)
            and (index, block.start - 1) in self.taken
        )
        if self.chars + self._length(block) > self.c.max_chars:
            return None
        if self._repeats(index, position):
            return None  # several documents often say the same thing: say it once
        stems: set[str] = set()
        for p in range(block.start, block.end):
            stems |= section.stems[p]
        asked = stems & self.weights.keys()
        cover = self._share(asked)
        new = self._share(asked - self.covered)
        number = self.wants_number and bool(HAS_NUMBER.search(sentence))
        same = index == lead_section
        gap = self.sections[lead_section].score - section.score
        # A heading nearly as close to the question as the lead's asks the same thing in other
        # words: its opening sentence (which answers it) is part of the answer.
        opening = block.start == 0 and self._asks_the_same(index, lead_section)
        if self.semantic:
            similarity = section.sims[position] if section.sims else 0.0
            best = max((max(s.sims) for s in self.sections if s.sims), default=0.0)
            # A sentence going on with one already in the answer completes its fact ("Questo
            # margine del 6% è ammesso per non più di 3 periodi…"): as near as the lead's own.
            near = same or opening or (continues and self.c.semantic_continuation)
            if similarity < best - (self.c.semantic_margin * (2 if near else 1)):
                return None
            gain = similarity + (0.01 if near else 0.0)
        else:
            # The lead section is about the question; another section only when it adds a
            # question word, the number asked for, or answers a neighbouring heading.
            if not (
                same
                or opening
                or new >= self.c.min_new_other
                or (number and (new > 0 or continues))
                or listed
            ):
                return None
            gain = new + 0.5 * cover + 0.1 * number + 0.1 * (same or opening) - 0.5 * max(gap, 0)
        gain -= 0.02 * (block.end - block.start - 1)  # a long block must earn its length
        return gain, block

    def _asks_the_same(self, index: int, lead_section: int) -> bool:
        """Another section whose score is within `same_question` of the lead's: its heading
        asks the same thing in other words."""
        gap = self.sections[lead_section].score - self.sections[index].score
        return index != lead_section and gap <= self.c.same_question

    def _near_reply(self, index: int, position: int, lead_section: int) -> str | None:
        """How a "Sì, …" / "No, …" opening another section follows the lead, or None: its
        heading is as close to the question as the lead's, give or take `same_question` (it
        asks the same in other words), and it comes as a lead from that section would, the
        reply whole ("reply") or its statement alone ("statement", near the yes/no bar)."""
        section = self.sections[index]
        if not (self.c.near_yes_no and position == 0 and self._asks_the_same(index, lead_section)):
            return None
        if self._reply_leads(section, 0):
            return "reply"
        if self._statement_leads(section, 0, self._asks_this(section)):
            return "statement"
        return None

    # -- context rules ------------------------------------------------------------------------
    def _block(self, index: int, position: int, *, lead: bool) -> Block | None:
        """The smallest run around `position` that reads on its own, or None.

        A sentence that opens with a reference brings the sentence before it (and so on, up to
        three); a sentence inside an enumeration brings the whole enumeration. The run depends
        on the text alone, so it is worked out once per sentence, not once per addition round.
        """
        key = (index, position, lead)
        if key not in self._blocks:
            self._blocks[key] = self._find_block(index, position, lead=lead)
        return self._blocks[key]

    def _find_block(self, index: int, position: int, *, lead: bool) -> Block | None:
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
        if any(section.instructions[start:end]):
            return None  # an order to the assistant hidden in a document is not content
        if start != position and answers_yes_no(text[0]) and not lead:
            return None
        limit = self.c.block_chars * (2 if lead else 1)
        if len(" ".join(text)) > limit:
            return None  # an enumeration too long to quote whole is left out
        return Block(index, start, end)

    def _continuation(self, block: Block) -> Block | None:
        """The part of `block` not taken yet, when what is taken is its opening run: a
        sentence leaning on one already in the answer ("Questo margine…" after the sentence
        that sets the margin) follows it there. Any other overlap: None."""
        start = block.start
        while start < block.end and (block.section, start) in self.taken:
            start += 1
        if start == block.end or any(
            (block.section, p) in self.taken for p in range(start, block.end)
        ):
            return None
        return block if start == block.start else Block(block.section, start, block.end)

    def _repeats(self, index: int, position: int) -> bool:
        """Whether the sentence is `similar` to one already taken."""
        checked = self._unlike.get((index, position), 0)
        if checked < 0:
            return True
        stems = self.sections[index].stems[position]
        for i, p in self._taken_order[checked:]:
            if similar(stems, self.sections[i].stems[p]):
                self._unlike[(index, position)] = -1
                return True
        self._unlike[(index, position)] = len(self._taken_order)
        return False

    def _length(self, block: Block) -> int:
        return len(" ".join(self.sections[block.section].sentences[block.start : block.end]))

    def _take(self, block: Block) -> None:
        section = self.sections[block.section]
        for p in range(block.start, block.end):
            self.taken.add((block.section, p))
            self._taken_order.append((block.section, p))
            self.covered |= section.stems[p] & self.weights.keys()
        self.chars += self._length(block)


def similar(a: frozenset[str], b: frozenset[str], threshold: float = 0.65) -> bool:
    """Whether most of the shorter sentence's words are in the other (a paraphrase)."""
    shorter = min(len(a), len(b))
    return shorter > 0 and len(a & b) / shorter >= threshold


def ordered(blocks: list[Block], lead_section: int) -> list[Block]:
    """Lead first; then the lead section's other blocks in reading order; then the others."""
    lead, rest = blocks[0], blocks[1:]
    same = sorted((b for b in rest if b.section == lead_section), key=lambda b: b.start)
    after = [b for b in same if b.start >= lead.end]
    before = [b for b in same if b.start < lead.end]
    others = sorted(
        (b for b in rest if b.section != lead_section), key=lambda b: (b.section, b.start)
    )
    return [lead, *after, *before, *others]
