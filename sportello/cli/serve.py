"""`sportello serve` (web app, plus the bot when a token is set) and `sportello bot` (bot alone)."""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

import typer

from sportello.cli.common import fail, settings

if TYPE_CHECKING:
    from sportello.serving import PortUnavailable

_BIND_ERRORS = {
    errno.EADDRINUSE: "la porta è già in uso (un altro `sportello serve`?); scegline un'altra "
    "con --port o SPORTELLO_PORT",
    errno.EACCES: "permesso negato (le porte sotto 1024 richiedono privilegi); scegli un'altra "
    "porta con --port o SPORTELLO_PORT",
    errno.EADDRNOTAVAIL: "l'indirizzo non è di questa macchina; controlla --host o SPORTELLO_HOST",
}


def _why(error: PortUnavailable) -> str:
    return _BIND_ERRORS.get(error.errno or 0, error.reason)


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
        from sportello.app import create_app
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
                serving.serve_here(create_app(cfg), address)
            else:
                serving.serve_workers(address, workers)
        except serving.PortUnavailable as exc:
            raise fail(f"Impossibile mettersi in ascolto su {address}: {_why(exc)}.") from None
        except serving.WorkerFailed as exc:
            raise fail(
                f"Un worker si è fermato prima di partire (codice di uscita {exc.exitcode}): "
                "il motivo è nelle righe di log qui sopra; gli altri worker sono stati fermati."
            ) from None

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
