"""Help desk: desks, experts, availability, slots, tickets, bookings, outbox, reminders, .ics.

Callers use `sportello.desk.service` (the public functions) and the pydantic `schemas`.
"""
