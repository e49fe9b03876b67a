"""A delivery process for the crash test: `python -m tests.channels.email.crash_worker`.

argv: database URL, SMTP port, the frozen instant (ISO), the stage to stop at (`claimed`: the
row is claimed, nothing sent; `sent`: the SMTP server accepted it, the row is not yet marked),
and a marker file. At that stage it writes the marker and waits to be killed.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path

from sportello.channels.email.sender import SmtpSender, deliver_email
from sportello.clock import FrozenClock
from sportello.config import Settings
from sportello.db.engine import make_engine, make_sessionmaker
from sportello.desk.schemas import Delivery


def main() -> None:
    url, port, at, stage, marker = sys.argv[1:6]
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=url,
        email_smtp_host="127.0.0.1",
        email_smtp_port=int(port),
        email_smtp_security="none",
        email_from_address="sportello@csv.example.org",
        email_link_secret="crash-worker-link-secret",
    )
    clock = FrozenClock(datetime.fromisoformat(at))
    sessions = make_sessionmaker(make_engine(settings), clock)
    real = SmtpSender(settings, clock)

    def send(delivery: Delivery) -> None:
        if stage == "sent":
            real(delivery)
        Path(marker).write_text(delivery.idempotency_key)
        time.sleep(600)  # SIGKILL arrives here

    deliver_email(sessions, settings, clock, send)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
