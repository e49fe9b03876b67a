"""Staff-managed desks and experts: records, deactivation with booking decisions, demo removal.

The public surface below is what code outside `sportello.desk` imports.
"""

from typing import TYPE_CHECKING

from sportello.desk.surface import lazy

if TYPE_CHECKING:
    from sportello.desk.directory.demo import DemoRemoval, remove_demo
    from sportello.desk.directory.queries import desk_ids_of_experts, list_desks, list_experts
    from sportello.desk.directory.records import (
        DeskFields,
        ExpertFields,
        find_desk,
        find_expert,
        get_desk,
        get_expert,
        save_desk,
        save_expert,
    )
    from sportello.desk.directory.retire import (
        AffectedBooking,
        BookingDecision,
        Deactivation,
        DecisionNeeded,
        Kind,
        activate,
        deactivate,
        decision,
    )
    from sportello.desk.directory.texts import error, text

__all__ = [
    "AffectedBooking",
    "BookingDecision",
    "Deactivation",
    "DecisionNeeded",
    "DemoRemoval",
    "DeskFields",
    "ExpertFields",
    "Kind",
    "activate",
    "deactivate",
    "decision",
    "desk_ids_of_experts",
    "error",
    "find_desk",
    "find_expert",
    "get_desk",
    "get_expert",
    "list_desks",
    "list_experts",
    "remove_demo",
    "save_desk",
    "save_expert",
    "text",
]

__getattr__ = lazy(__name__, __file__)
