"""Notifications: the desk's messages, who is told what (notify), the outbox, digests, experts' mail.

The public surface below is what code outside `sportello.desk` imports.
"""

from typing import TYPE_CHECKING

from sportello.desk.surface import lazy

if TYPE_CHECKING:
    from sportello.desk.notifications.digests import queue_due_digests
    from sportello.desk.notifications.expert_mail import (
        MailPreferences,
        normalize_email,
        set_expert_email,
    )
    from sportello.desk.notifications.expert_mail import describe as describe_mail
    from sportello.desk.notifications.messages import MONTHS, WEEKDAYS, topic_label, when
    from sportello.desk.notifications.outbox import (
        EMAIL,
        TELEGRAM,
        Sender,
        Undeliverable,
        deliver_pending,
    )
    from sportello.desk.notifications.queries import outbox_backlog

__all__ = [
    "EMAIL",
    "MONTHS",
    "TELEGRAM",
    "WEEKDAYS",
    "MailPreferences",
    "Sender",
    "Undeliverable",
    "deliver_pending",
    "describe_mail",
    "normalize_email",
    "outbox_backlog",
    "queue_due_digests",
    "set_expert_email",
    "topic_label",
    "when",
]

__getattr__ = lazy(__name__, __file__)
