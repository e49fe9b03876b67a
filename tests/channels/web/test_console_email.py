"""The ticket page warns when the outbox gave up on an e-mail about the ticket."""

from __future__ import annotations

from sportello.desk.models import OutboxMessage, OutboxStatus
from tests.channels.web.conftest import Web, login
from tests.channels.web.test_console import make_ticket

WARNING = "E-mail non consegnata"


def test_parked_email_shows_on_the_ticket(web: Web) -> None:
    ticket = make_ticket(web)
    client = web.client()
    login(client, web.people.expert)
    assert WARNING not in client.get(f"/console/tickets/{ticket}").text
    with web.services.sessions.begin() as session:
        row = session.query(OutboxMessage).filter_by(ticket_id=ticket, channel="email").first()
        assert row is not None  # the fiscal expert without Telegram: the e-mail route
        row.status, row.attempts, row.last_error = OutboxStatus.FAILED, 8, "SMTP 451"
    page = client.get(f"/console/tickets/{ticket}")
    assert page.status_code == 200 and WARNING in page.text
