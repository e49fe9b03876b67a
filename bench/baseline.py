"""The plain LangChain baseline: default RecursiveCharacterTextSplitter + Chroma similarity search."""

from __future__ import annotations

from pathlib import Path

import chromadb
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from langchain_core.documents import Document as LCDocument
from langchain_core.embeddings import Embeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter

from sportello.knowledge.embeddings import Embedder
from sportello.knowledge.kb_files import is_indexable
from sportello.knowledge.loading import load_file


class LangChainEmbeddings(Embeddings):
    """Our embedder behind LangChain's Embeddings interface (same model for a fair comparison)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_documents(texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text).tolist()  # type: ignore[no-any-return]


def build_baseline(kb_dir: Path, embedder: Embedder) -> Chroma:
    docs = [
        LCDocument(page_content=d.text, metadata={"doc_id": d.id})
        for d in (load_file(p, p.stem) for p in sorted(kb_dir.rglob("*")) if is_indexable(p))
    ]
    chunks = RecursiveCharacterTextSplitter().split_documents(docs)
    client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))
    return Chroma.from_documents(
        chunks, LangChainEmbeddings(embedder), client=client, collection_name="baseline"
    )
