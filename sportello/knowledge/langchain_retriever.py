"""Our hybrid Retriever as a LangChain retriever, for chains that expect one (its own module:
LangChain costs ~1 s at import, which no process that does not use it should pay)."""

from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever

from sportello.knowledge.documents import Topic
from sportello.knowledge.retrieval import Retriever


class SportelloLangChainRetriever(BaseRetriever):
    """`Retriever.search` behind LangChain's retriever interface: chunks as Documents."""

    retriever: Retriever
    k: int = 5
    topic: Topic | None = None

    model_config = {"arbitrary_types_allowed": True}

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[LCDocument]:
        return [
            LCDocument(
                page_content=hit.chunk.text,
                id=hit.chunk.id,
                metadata={
                    "doc_id": hit.chunk.doc_id,
                    "title": hit.chunk.title,
                    "heading": hit.chunk.heading,
                    "citation": hit.chunk.citation,
                    "source": hit.chunk.link,
                    "score": hit.fused_score,
                },
            )
            for hit in self.retriever.search(query, self.k, self.topic)
        ]
