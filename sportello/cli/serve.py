"""`sportello serve` (web app, plus the bot when a token is set) and `sportello bot` (bot alone)."""

from __future__ import annotations

import typer

from sportello.cli.common import fail, settings


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option(None, help="Address (default from settings: 127.0.0.1)."),
        port: int = typer.Option(
            None, min=1, max=65535, help="Port (default from settings: 8000)."
        ),
        workers: int = typer.Option(
            1,
            min=1,
            envvar="WEB_CONCURRENCY",
            help="Worker processes, each listening on its own SO_REUSEPORT socket so the "
            "kernel spreads connections among them (default from WEB_CONCURRENCY, else 1).",
        ),
    ) -> None:
        """Run the web app on HOST:PORT: proxy headers trusted from FORWARDED_ALLOW_IPS, no
        access log, 20 s graceful shutdown on SIGTERM."""
        from sportello import serving
        from sportello.logging_setup import configure_logging
        from sportello.preflight import check_backends

        cfg = settings()
        configure_logging(cfg)
        check_backends(cfg)
        if workers > 1 and cfg.telegram_token.get_secret_value() and not cfg.telegram_webhook_url:
            raise fail(
                "Con più worker il bot in long polling partirebbe in ognuno (Telegram ne accetta "
                "uno per token): avvia il bot a parte con `sportello bot` e lascia vuoto "
                "SPORTELLO_TELEGRAM_TOKEN per il web, oppure usa un webhook "
                "(SPORTELLO_TELEGRAM_WEBHOOK_URL)."
            )
        address = serving.Address(host or cfg.host, port or cfg.port)
        try:
            if workers == 1:
                from sportello.app import create_app

                serving.serve_here(create_app(cfg), address)
            else:
                # The supervisor needs none of this process's imports (~200 MB): it replaces
                # this process (same pid, so SIGTERM still reaches it).
                serving.exec_supervisor(address, workers)
        except serving.PortUnavailable as exc:
            raise fail(serving.port_message(exc)) from None

    @app.command()
    def bot() -> None:
        """Run the Telegram bot alone (long polling, or webhook registration when a URL is set;
        a webhook's updates arrive through `sportello serve`), with its outbox and reminders."""
        import asyncio

        from sportello.channels.telegram.bot import running_bot
        from sportello.desk.scheduling import running_reminders
        from sportello.logging_setup import configure_logging
        from sportello.preflight import check_backends
        from sportello.services import build_services
        from sportello.usecases import limits

        cfg = settings()
        configure_logging(cfg)
        check_backends(cfg)
        if not cfg.telegram_token.get_secret_value():
            raise fail("SPORTELLO_TELEGRAM_TOKEN non è impostato: il bot non può partire.")
        if cfg.telegram_webhook_url:
            raise fail(
                "Con SPORTELLO_TELEGRAM_WEBHOOK_URL impostato gli aggiornamenti arrivano al "
                "web: usa `sportello serve`."
            )

        async def main() -> None:
            services = build_services(cfg)
            await asyncio.to_thread(services.warm_up)
            async with (
                running_reminders(services.sessions, cfg, services.clock),
                limits.pruning(services),
                running_bot(cfg, services),
            ):
                await asyncio.Event().wait()

        asyncio.run(main())
