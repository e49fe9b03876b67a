"""The ASGI entry point of the web workers: `uvicorn sportello.asgi:create --factory`.

Each uvicorn worker process calls `create()` once: settings from the environment, logging,
then the app, whose lifespan builds the services (engine, embedder, indexes) for that worker.
"""

from __future__ import annotations

from fastapi import FastAPI

from sportello.app import create_app
from sportello.config import get_settings
from sportello.logging_setup import configure_logging


def create() -> FastAPI:
    """The app for this worker, with logging configured from the settings."""
    settings = get_settings()
    configure_logging(settings)
    return create_app(settings)
