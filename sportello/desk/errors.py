"""The desk's own failures: a slot lost to someone else, carrying what is still free."""

from __future__ import annotations

from sportello.desk.schemas import SlotOffer
from sportello.errors import ErrorCode, SportelloError


class SlotTaken(SportelloError):
    """The slot was booked by someone else a moment ago; `alternatives` are the next free ones."""

    def __init__(self, slot_id: int, alternatives: list[SlotOffer]) -> None:
        if alternatives:
            super().__init__(ErrorCode.SLOT_TAKEN, "slot_taken_alternatives")
        else:
            super().__init__(ErrorCode.SLOT_TAKEN, "slot_taken_none_left")
        self.slot_id = slot_id
        self.alternatives = alternatives
