"""LLM composer: a LangChain chat model that may only use the retrieved chunks and cites them.

Built from settings: an OpenAI-compatible endpoint (langchain-openai: base URL, key, model) or
Ollama (langchain-ollama). Any error, timeout, or a reply without [n] citations makes the
assistant fall back to the extractive reply.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from sportello.answering.prompts import Prompts
from sportello.answering.quarantine import is_instruction, strip_instructions
from sportello.answering.schemas import Citation
from sportello.config import Settings
from sportello.knowledge.attribution import cited_source
from sportello.knowledge.retrieval import RetrievedChunk

if TYPE_CHECKING:  # LangChain is imported when an LLM composer is built (~1 s of every start)
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import BaseMessage

logger = logging.getLogger(__name__)
_CITATION = re.compile(r"\[(\d{1,2})\]")
LANGUAGE_NAMES = {"it": "italiano", "en": "inglese (English)"}


class LLMError(RuntimeError):
    """The model failed, timed out, or broke the citation rule."""


def build_chat_model(settings: Settings) -> BaseChatModel | None:
    """The chat model named in settings, or None when the composer is extractive."""
    if settings.composer != "llm":
        return None
    if settings.llm_provider == "ollama":
        from langchain_ollama import ChatOllama

        return ChatOllama(
            base_url=settings.llm_base_url or "http://127.0.0.1:11434",
            model=settings.llm_model,
            temperature=settings.llm_temperature,
            client_kwargs={"timeout": settings.llm_timeout_s},
        )
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        base_url=settings.llm_base_url or None,
        api_key=settings.llm_api_key,
        model=settings.llm_model,
        temperature=settings.llm_temperature,
        timeout=settings.llm_timeout_s,
        max_retries=0,
    )


class LLMComposer:
    def __init__(self, model: BaseChatModel, prompts: Prompts, *, chunks: int = 5) -> None:
        self.model = model
        self.prompts = prompts
        self.chunks = chunks

    def messages(
        self, question: str, hits: list[RetrievedChunk], language: str
    ) -> list[BaseMessage]:
        # A document's orders to the assistant ("ignora le istruzioni…") never reach the model.
        context = "\n\n".join(
            f"[{i}] {_label(h)}\n{strip_instructions(h.chunk.text)}"
            for i, h in enumerate(hits[: self.chunks], 1)
        )
        system = self.prompts.template(
            "llm_system.txt", language_name=LANGUAGE_NAMES.get(language, "italiano")
        )
        user = self.prompts.template("llm_user.txt", context=context, question=question)
        from langchain_core.messages import HumanMessage, SystemMessage

        return [SystemMessage(system), HumanMessage(user)]

    def stream(self, question: str, hits: list[RetrievedChunk], language: str) -> Iterator[str]:
        """Token pieces as the model produces them; raises LLMError on failure."""
        try:
            for piece in self.model.stream(self.messages(question, hits, language)):
                text = piece.content if isinstance(piece.content, str) else ""
                if text:
                    yield text
        except Exception as exc:  # the client raises many types; all mean "fall back"
            raise LLMError(f"{exc.__class__.__name__}: {exc}") from exc

    def repeats_instructions(self, text: str, language: str) -> bool:
        """Whether the reply quotes its own instructions (eight words in a row of the system
        prompt): a model talked into revealing them is answered for extractively instead."""
        system = self.prompts.template(
            "llm_system.txt", language_name=LANGUAGE_NAMES.get(language, "italiano")
        )
        return bool(_shingles(system) & _shingles(text))

    def citations(self, text: str, hits: list[RetrievedChunk]) -> tuple[Citation, ...]:
        """The chunks the text cites, renumbered in order of first use; none is an error."""
        used: list[int] = []
        for match in _CITATION.finditer(text):
            n = int(match.group(1))
            if 1 <= n <= min(self.chunks, len(hits)) and n not in used:
                used.append(n)
        if not used:
            raise LLMError("the model's reply cites no source")
        return tuple(
            Citation(
                number=n,
                doc_id=hits[n - 1].chunk.doc_id,
                chunk_id=hits[n - 1].chunk.id,
                title=hits[n - 1].chunk.title,
                heading=hits[n - 1].chunk.heading,
                link=cited_source(hits[n - 1].chunk.sources, hits[n - 1].chunk.text),
            )
            for n in sorted(used)
        )


def _label(hit: RetrievedChunk) -> str:
    """The chunk's "Titolo › Sezione", or its title alone when the heading gives orders."""
    chunk = hit.chunk
    return chunk.title if is_instruction(chunk.citation) else chunk.citation


def _shingles(text: str, size: int = 8) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}
