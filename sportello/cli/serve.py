"""`sportello serve`: the web app (and, later, the bot) in one process."""

from __future__ import annotations

import typer

from sportello.cli.common import settings


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option(None, help="Address (default from settings: 127.0.0.1)."),
        port: int = typer.Option(None, help="Port (default from settings: 8000)."),
    ) -> None:
        """Run the web app on HOST:PORT."""
        import uvicorn

        from sportello.app import create_app
        from sportello.logging_setup import configure_logging

        cfg = settings()
        configure_logging(cfg)
        uvicorn.run(
            create_app(cfg), host=host or cfg.host, port=port or cfg.port, log_config=None
        )
