"""Help desk: desks, experts, their availability and slots, tickets, bookings, notifications.

Subpackages, each with a small public surface (its `__init__`), the only thing code outside
`sportello.desk` imports: `scheduling`, `tickets`, `notifications`, `handover`. Shared by all of
them: `models` (ORM), `schemas` (pydantic), `errors`, `seed` (desks and experts from YAML).
"""
