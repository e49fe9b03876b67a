"""The Italian sentences the desk sends to volunteers and experts, and how dates are written."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sportello.knowledge.documents import TOPIC_LABELS, Topic

WEEKDAYS = ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"]
MONTHS = [
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
]


def when(moment: datetime, tz: ZoneInfo) -> str:
    """'lunedì 7 dicembre 2026 alle 9:30' in the desk's time zone."""
    local = moment.astimezone(tz)
    return (
        f"{WEEKDAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]} {local.year} "
        f"alle {local.hour}:{local.minute:02d}"
    )


def topic_label(topic: str) -> str:
    try:
        return TOPIC_LABELS[Topic(topic)]
    except ValueError:
        return topic


def slot_label(starts_at: datetime, tz: ZoneInfo, desk: str, expert: str) -> str:
    return f"{when(starts_at, tz)} — {desk} ({expert})"


def in_hours(hours: int) -> str:
    return "tra un'ora" if hours == 1 else f"tra {hours} ore"


def new_ticket(code: str, topic: str, summary: str) -> tuple[str, str]:
    return (
        f"Nuova richiesta {code} — {topic_label(topic)}",
        f"È arrivata una nuova richiesta sul tema «{topic_label(topic)}» ({code}).\n\n"
        f"{summary}\n\nPuoi prenderla in carico dalla console degli esperti.",
    )


def appointment(code: str, moment: str, desk: str, location: str, expert: str) -> str:
    where = f"{desk} — {location}" if location else desk
    return f"Ticket {code}\nQuando: {moment}\nDove: {where}\nCon: {expert}"


def confirmation_volunteer(details: str, cancel_hours: int) -> tuple[str, str]:
    return (
        "Appuntamento confermato",
        f"Il tuo appuntamento è confermato.\n\n{details}\n\n"
        f"Puoi annullarlo fino a {cancel_hours} ore prima. In allegato trovi l'evento per il "
        "tuo calendario.",
    )


def confirmation_expert(details: str, summary: str) -> tuple[str, str]:
    body = f"Hai un nuovo appuntamento.\n\n{details}\n\nRichiesta: {summary}"
    return ("Nuovo appuntamento", body)


def rescheduled(details: str) -> tuple[str, str]:
    return (
        "Appuntamento spostato",
        f"L'appuntamento è stato spostato. Nuovi dettagli:\n\n{details}\n\n"
        "L'evento allegato sostituisce quello precedente nel calendario.",
    )


def cancellation(details: str, reason: str | None) -> tuple[str, str]:
    body = f"L'appuntamento è stato annullato.\n\n{details}"
    if reason:
        body += f"\n\nMotivo: {reason}"
    return ("Appuntamento annullato", body)


def expert_reply(code: str, expert: str, text: str) -> tuple[str, str]:
    body = f"{expert} ha risposto alla tua richiesta {code}:\n\n{text}"
    return (f"Risposta al ticket {code}", body)


def volunteer_wrote(code: str, text: str) -> tuple[str, str]:
    return (
        f"Nuovo messaggio sul ticket {code}",
        f"Chi ha aperto la richiesta {code} ha scritto di nuovo:\n\n{text}",
    )


def reminder(hours: int, details: str) -> tuple[str, str]:
    body = f"Promemoria: {in_hours(hours)} hai un appuntamento.\n\n{details}"
    return ("Promemoria appuntamento", body)


def closed(code: str, outcome: str) -> tuple[str, str]:
    return (
        f"Richiesta {code} chiusa",
        f"La tua richiesta {code} è stata chiusa.\n\nEsito: {outcome}\n\n"
        "Se hai altre domande puoi scriverci di nuovo quando vuoi.",
    )


def ticket_cancelled(code: str) -> tuple[str, str]:
    return (f"Richiesta {code} annullata", f"La richiesta {code} è stata annullata.")


def calendar_title(code: str, topic: str) -> str:
    return f"Sportello Terzo settore — {topic_label(topic)} ({code})"


def calendar_description(code: str, expert: str, desk: str, summary: str) -> str:
    return f"Ticket {code}\nEsperto: {expert}\nSportello: {desk}\n\nRichiesta: {summary}"


def digest(lines: list[str]) -> tuple[str, str]:
    count = len(lines)
    head = "È arrivata una nuova richiesta" if count == 1 else f"Sono arrivate {count} richieste"
    body = f"{head} nei tuoi temi nelle ultime 24 ore, in attesa di un esperto:\n\n"
    return ("Nuove richieste del giorno", body + "\n".join(f"- {line}" for line in lines))


def agenda(lines: list[str]) -> tuple[str, str]:
    body = "I tuoi appuntamenti di domani:\n\n" + "\n\n".join(lines)
    return ("Gli appuntamenti di domani", body)
