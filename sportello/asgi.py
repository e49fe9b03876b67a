"""The ASGI entry point of the web workers: `uvicorn sportello.asgi:create --factory`.

Each uvicorn worker process calls `create()` once: settings from the environment, logging,
then the app, whose lifespan builds the services (engine, embedder, indexes) for that worker.
"""

from __future__ import annotations

import sys

from fastapi import FastAPI

from sportello.app import create_app
from sportello.config import ConfigError, get_settings
from sportello.logging_setup import configure_logging
from sportello.preflight import check_backends


def create() -> FastAPI:
    """The app for this worker, with logging configured from the settings; a configuration
    error stops the worker with one line naming the variable (uvicorn then exits)."""
    try:
        settings = get_settings()
        configure_logging(settings)
        check_backends(settings)
    except ConfigError as exc:
        print(exc, file=sys.stderr)  # noqa: T201  (logging may not be configured yet)
        sys.exit(2)
    return create_app(settings)
