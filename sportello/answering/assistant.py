"""The Assistant: the one entry point that turns a message into a Reply (all channels, eval, CLI).

Flow: rules (guards) → intent by nearest labelled examples → follow-up resolution → hybrid
retrieval → evidence → answer (extractive or LLM, with citations), clarify, escalate or refuse.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np

from sportello.answering import context, decision, guards
from sportello.answering.extractive import ExtractiveComposer, render
from sportello.answering.intents import Intent, IntentClassifier, IntentResult, load_examples
from sportello.answering.language import detect_language
from sportello.answering.llm import LLMComposer, LLMError
from sportello.answering.prompts import Prompts
from sportello.answering.quarantine import is_instruction
from sportello.answering.schemas import Action, Reply, Turn
from sportello.config import Settings
from sportello.knowledge.headings import own_heading
from sportello.knowledge.retrieval import RetrievedChunk, Retriever
from sportello.knowledge.text_vectors import TextVectors

logger = logging.getLogger(__name__)
SEARCH_K = 8  # chunks fetched per question: the composer uses the best few, suggestions the rest
# A follow-up's own words ask for a person when the intent model gives that more than even
# odds and the word model reads it too: a bare plurality is not enough, since a short follow-up
# spreads its probability ("possono metterci più di un mese a rispondere?" led with 0.25), and
# a word the requests share ("…dai nostri contatti?") can lift the vector's reading past 0.5
# while the words read in scope; the requests themselves ("posso parlare con qualcuno?") read
# about 0.9 on the vector, with wants-person first on the words.
WANTS_PERSON_ALONE = 0.5


class Grounds(NamedTuple):
    """What an answer is composed from, once the plan decided to answer."""

    query: str  # as retrieval read it (a follow-up with the question it continues)
    hits: list[RetrievedChunk]
    confidence: float
    vector: np.ndarray  # the query's embedding (one per message)


class Assistant:
    def __init__(
        self,
        retriever: Retriever,
        settings: Settings,
        prompts: Prompts | None = None,
        llm: LLMComposer | None = None,
        intents: IntentClassifier | None = None,
        sentences: TextVectors | None = None,
    ) -> None:
        self.retriever = retriever
        self.settings = settings
        self.prompts = prompts or Prompts()
        self.extractive = ExtractiveComposer(
            retriever.keywords, headings=retriever.headings, sentences=sentences
        )
        self.llm = llm
        self.intents = intents or build_intents(retriever, settings)
        self.last_intent: IntentResult | None = None
        self.last_intent_ms = 0.0  # time the intent step added to the last reply

    # -- public API ---------------------------------------------------------------------------
    def reply(self, history: list[Turn], text: str) -> Reply:
        """The reply to `text`, given the conversation so far (oldest turn first)."""
        final: Reply | None = None
        for item in self.stream(history, text):
            if isinstance(item, Reply):
                final = item
        assert final is not None
        return final

    def replay(self, earlier: Sequence[str]) -> list[Turn]:
        """The conversation after sending the user messages `earlier` one by one, each turn
        stored as the conversation stores it (the reply's text, topic and action): how an
        evaluation asks a follow-up in the conversation it follows."""
        history: list[Turn] = []
        for text in earlier:
            reply = self.reply(history, text)
            history += [
                Turn(role="user", text=text),
                Turn(
                    role="assistant", text=reply.text, topic=reply.topic, action=reply.action.value
                ),
            ]
        return history

    def grounds(self, history: list[Turn], text: str) -> Grounds | None:
        """What an answer to `text` is composed from, or None when the plan does not answer
        (the benchmark reads where an answer's missing facts were: bench/golden.py)."""
        plan = self._plan(history, text, detect_language(text))
        return None if isinstance(plan, Reply) else plan

    def stream(self, history: list[Turn], text: str) -> Iterator[str | Reply]:
        """Pieces of the reply text as they are ready, then the complete Reply."""
        started = time.perf_counter()
        language = detect_language(text)
        plan = self._plan(history, text, language)
        if isinstance(plan, Reply):
            yield plan.text
            yield plan
            return
        query, hits, confidence, vector = plan  # Grounds
        reply: Reply | None = None
        if self.llm is not None:
            pieces: list[str] = []
            try:
                for piece in self.llm.stream(query, hits, language):
                    pieces.append(piece)
                    yield piece
                body = "".join(pieces).strip()
                if self.llm.repeats_instructions(body, language):
                    raise LLMError("the model's reply repeats its instructions")
                reply = self._answer(
                    body, self.llm.citations(body, hits), hits, confidence, language, query
                )
            except LLMError as exc:
                logger.warning("LLM composer failed, answering extractively: %s", exc)
                reply = None
        if reply is None:
            reply = self._extractive_answer(
                query, hits, confidence, language, vector, fallback=self.llm is not None
            )
            yield reply.text
        logger.info(
            "reply action=%s confidence=%.2f in %.0f ms",
            reply.action,
            confidence,
            (time.perf_counter() - started) * 1e3,
        )
        yield reply

    # -- steps --------------------------------------------------------------------------------
    def _plan(self, history: list[Turn], text: str, language: str) -> Reply | Grounds:
        """Either a finished non-answer Reply, or the Grounds to compose an answer from."""
        self.last_intent_ms = 0.0  # a message a rule refuses never reaches the intent step
        verdict = guards.check(text, self.settings.max_message_chars)
        if verdict is not None:
            return self._fixed(
                Action.REFUSE, verdict.message_key, language, verdict.reason, values=verdict.values
            )
        asked = context.as_asked(text)  # "ciao, nn …": "non …", without the salutation
        resolved = context.resolve(asked, history)
        # A follow-up is voted on as retrieval will read it (the earlier question with it), so
        # one embedding still serves both steps.
        embedded = self.retriever.embed(resolved.query)  # one embedding serves both steps
        found = self._intent(resolved.query, embedded.vector)
        hits = self.retriever.search(resolved.query, SEARCH_K, embedded=embedded, language=language)
        if resolved.query != asked and wants_person(self.intents.classify(asked)):
            # Asking for a person stands on its own words, whatever was asked before.
            return self._escalate("escalate_requested", "requested", text, language, hits)
        evidence = self.evidence(resolved.query, hits, embedded.vector, language)
        # The action model weighs the intents against the evidence of the whole question.
        action, intent = decision.act(
            found,
            evidence.confidence,
            self.settings.answer_threshold,
            follow_up=resolved.follow_up,
            floor=self.settings.answer_floor(language),
        )
        confidence, query = evidence.confidence, resolved.query
        if action == "clarify":
            return self._fixed(Action.CLARIFY, "clarify", language, "vague")
        if intent is Intent.INJECTION:
            return self._fixed(Action.REFUSE, "refuse_injection", language, "injection")
        if intent is Intent.WRONGDOING:
            return self._wrongdoing(found, language)
        if intent is Intent.OFF_TOPIC:
            return self._fixed(
                Action.REFUSE, "refuse_off_topic", language, "off_topic", confidence, query
            )
        if intent is Intent.WANTS_PERSON:
            return self._escalate("escalate_requested", "requested", query, language, hits)
        if intent is Intent.PERSONAL_CASE:
            return self._escalate("escalate_case", "specific_case", query, language, hits)
        if action == "escalate":
            return self._escalate(
                "escalate_low_confidence", "low_confidence", query, language, hits, confidence
            )
        return Grounds(resolved.query, hits, evidence.confidence, embedded.vector)

    def evidence(
        self, query: str, hits: list[RetrievedChunk], vector: np.ndarray, language: str
    ) -> decision.Evidence:
        """The retrieval evidence behind answering `query` (its vector `vector`) from `hits`
        (the calibration script reads it too, so what it measures is what the assistant
        weighs)."""
        english = language == "en"
        return decision.evidence(
            query,
            hits,
            self.settings.dense_floor(language),
            self.settings.confidence_dense_span,
            self.settings.confidence_lexical_full,
            self.retriever.keywords.idf,
            self.retriever.keywords.stems,
            english_lexical=self.settings.english_lexical(language),
            english_heading=(
                self.retriever.english_heading_similarity(hits, vector) if english else None
            ),
            heading_weight=self.settings.confidence_heading_en,
        )

    def _intent(self, text: str, vector: np.ndarray) -> IntentResult:
        """The intent step on the message's query vector (the one retrieval uses too): the
        step itself adds a matrix product over the examples (well under a millisecond)."""
        started = time.perf_counter()
        found = self.intents.classify(text, vector)
        self.last_intent_ms = (time.perf_counter() - started) * 1e3
        self.last_intent = found
        logger.debug(
            "intent %s (best %s, margin %.3f) in %.1f ms",
            found.intent,
            found.best,
            found.margin,
            self.last_intent_ms,
        )
        return found

    def _wrongdoing(self, found: IntentResult, language: str) -> Reply:
        """Decline in one plain sentence, then the lawful path when there is one."""
        parts = [self.prompts.text("refuse_wrongdoing", language)]
        if found.lawful:
            parts.append(self.prompts.text(f"lawful_{found.lawful}", language))
            parts.append(self.prompts.text("wrongdoing_expert", language))
        return Reply(
            text=" ".join(parts),
            action=Action.REFUSE,
            confidence=0.0,
            offer_expert=found.lawful is not None,
            language=language,
            reason="wrongdoing",
        )

    def _fixed(
        self,
        action: Action,
        key: str,
        language: str,
        reason: str,
        confidence: float = 0.0,
        query: str = "",
        values: dict[str, object] | None = None,
    ) -> Reply:
        return Reply(
            text=self.prompts.text(key, language, **(values or {})),
            action=action,
            confidence=confidence,
            language=language,
            reason=reason,
            query=query,
        )

    def _escalate(
        self,
        key: str,
        reason: str,
        query: str,
        language: str,
        hits: list[RetrievedChunk] | None = None,
        confidence: float = 0.0,
    ) -> Reply:
        """Offer an expert; the topic (for routing the ticket) comes from retrieval."""
        hits = hits if hits is not None else self.retriever.search(query, SEARCH_K)
        return Reply(
            text=self.prompts.text(key, language),
            action=Action.ESCALATE,
            confidence=confidence,
            topic=_topic(hits),
            offer_expert=True,
            language=language,
            reason=reason,
            query=query,
            suggestions=self._suggestions(hits, set()),
        )

    def _extractive_answer(
        self,
        query: str,
        hits: list[RetrievedChunk],
        confidence: float,
        language: str,
        vector: np.ndarray,
        *,
        fallback: bool = False,
    ) -> Reply:
        composition = self.extractive.compose(
            query, hits, language=language, embedder=self.retriever.embedder, question=vector
        )
        # Answer first: no opening line; a note on the language of the quotes comes after.
        note = self.prompts.text("english_note", language)
        body = "\n\n".join(part for part in (render(composition), note) if part)
        reply = self._answer(body, composition.citations, hits, confidence, language, query)
        return Reply(**{**reply.__dict__, "fallback": fallback})

    def _answer(
        self,
        body: str,
        citations: tuple,
        hits: list[RetrievedChunk],  # type: ignore[type-arg]
        confidence: float,
        language: str,
        query: str,
    ) -> Reply:
        used = {c.chunk_id for c in citations}
        return Reply(
            text=body,
            action=Action.ANSWER,
            confidence=confidence,
            citations=citations,
            topic=_topic(hits),
            suggestions=self._suggestions(hits, used),
            offer_expert=True,
            language=language,
            reason="answered",
            query=query,
        )

    def _suggestions(self, hits: list[RetrievedChunk], used_chunks: set[str]) -> tuple[str, ...]:
        """2–3 questions the knowledge base answers near this one: question-shaped headings of
        the retrieved chunks that were not used in the reply."""
        seen: set[str] = set()
        out: list[str] = []
        used_headings = {h.chunk.heading for h in hits if h.chunk.id in used_chunks}
        for hit in hits:
            heading = own_heading(hit.chunk.heading)
            if (
                not heading.endswith("?")
                or hit.chunk.heading in used_headings
                or heading.lower() in seen
                or is_instruction(heading)
            ):
                continue
            seen.add(heading.lower())
            out.append(heading)
            if len(out) == 3:
                break
        return tuple(out)


def build_intents(retriever: Retriever, settings: Settings, **options: object) -> IntentClassifier:
    """The intent classifier over the examples in prompts/intents/, embedded with the
    retriever's model; `options` (staff examples, reload) come from the composition root."""
    return IntentClassifier(
        retriever.embedder,
        load_examples(),
        k=settings.intent_k,
        cache_file=settings.resolved_data_dir() / "intents" / f"{retriever.embedder.name}.npz",
        **options,  # type: ignore[arg-type]
    )


def wants_person(found: IntentResult) -> bool:
    """The message asks for a person on its own words, clearly enough to override the
    conversation it follows."""
    if found.proba.get(Intent.WANTS_PERSON, 0.0) <= WANTS_PERSON_ALONE:
        return False
    return not found.words or max(found.words, key=found.words.__getitem__) is Intent.WANTS_PERSON


def _topic(hits: list[RetrievedChunk]) -> str | None:
    topics = Counter(h.chunk.topic.value for h in hits[:3] if h.chunk.topic)
    return topics.most_common(1)[0][0] if topics else None
