"""The Telegram tests' fixtures (fake Bot API server, small KB, services, world), reused."""

from tests.channels.telegram.conftest import (  # noqa: F401 - fixtures
    anyio_backend,
    api,
    bot_kb,
    engine,
    services,
    settings,
    world,
)
