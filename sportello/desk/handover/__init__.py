"""The hand-over: a chat's persisted flow from the assistant to an expert (typed state, steps,
the view both channels render), and what people do from a chat outside it.

The public surface below is what code outside `sportello.desk` imports.
"""

from typing import TYPE_CHECKING

from sportello.desk.surface import lazy

if TYPE_CHECKING:
    from sportello.desk.handover.action import ActionKind, HandoverAction
    from sportello.desk.handover.after import route_to_ticket, start_reschedule
    from sportello.desk.handover.desk_side import owned_booking
    from sportello.desk.handover.flow import (
        SLOTS_PER_PAGE,
        choose,
        current,
        handle_text,
        leave,
        start,
    )
    from sportello.desk.handover.people import (
        Appointment,
        appointments,
        cancel_appointment,
        expert_claim,
        expert_for_chat,
        expert_reply,
        rate_ticket,
    )
    from sportello.desk.handover.state import HandoverState, Mode, Step
    from sportello.desk.handover.view import CANCEL, Choice, StepResult, text

__all__ = [
    "CANCEL",
    "SLOTS_PER_PAGE",
    "ActionKind",
    "Appointment",
    "Choice",
    "HandoverAction",
    "HandoverState",
    "Mode",
    "Step",
    "StepResult",
    "appointments",
    "cancel_appointment",
    "choose",
    "current",
    "expert_claim",
    "expert_for_chat",
    "expert_reply",
    "handle_text",
    "leave",
    "owned_booking",
    "rate_ticket",
    "route_to_ticket",
    "start",
    "start_reschedule",
    "text",
]

__getattr__ = lazy(__name__, __file__)
