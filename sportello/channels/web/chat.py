"""The public chat pages: ask, vote, hand over to an expert, pick a slot, see the appointment.

Everything works without JavaScript (forms and redirects); static/chat.js adds streamed
replies (the JSON API's SSE endpoint), in-place votes and new messages as they arrive.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from sportello.channels.web import security
from sportello.channels.web.operations import chat as ops
from sportello.channels.web.templating import page
from sportello.usecases import chat_links, volunteer
from sportello.usecases.results import Booked, HandoverAction, HandoverStep

router = APIRouter(include_in_schema=False)
Volunteer = Depends(security.volunteer_guard)
Sender = Depends(security.message_guard)  # the use case counts the message (rate limit)


def chat_page(request: Request, context: dict[str, object] | None = None) -> Response:
    """Render a chat page, giving the browser its chat cookie on the first visit."""
    svc = security.services(request)
    token = security.chat_token(request) or security.new_chat_token()
    ref = security.chat_ref(request, token)
    values: dict[str, object] = {"chat_csrf": security.chat_csrf(token), "ref": ref}
    values.update(context or {})
    template = str(values.pop("template", "chat/index.html"))
    if template == "chat/index.html":
        values["state"] = ops.state(svc, ref)
        values["poll_seconds"] = svc.settings.web_poll_seconds
    response = page(request, template, values, csrf=security.chat_csrf(token))
    # Re-set on every view: the cookie lives `web_chat_cookie_days` after the last visit.
    security.set_cookie(
        response,
        request,
        security.CHAT_COOKIE,
        token,
        max_age=svc.settings.web_chat_cookie_days * 86400,
    )
    return response


@router.get("/")
def index(request: Request) -> Response:
    """The chat: the conversation so far, the hand-over if one is going on, the composer."""
    return chat_page(request)


def _anchor(view: HandoverStep) -> str:
    """Where the page should land: the step's buttons, or the text box when text is wanted."""
    if view.step == "describe_case":
        return "question"
    return "handover" if view.choices else "composer"


def _to_chat(anchor: str = "composer", notice: str = "") -> RedirectResponse:
    query = f"?ok={notice}" if notice else ""
    return RedirectResponse(f"/{query}#{anchor}", status_code=303)


@router.post("/chat")
def ask(request: Request, text: str = Form(...), ref: str = Sender) -> Response:
    """Ask without JavaScript: the reply is on the page we redirect to."""
    results = volunteer.receive_text(
        security.services(request),
        ops.volunteer(ref),
        text,
        admission=security.admission(request),  # counted where the question is stored
    )
    steps = [r for r in results if isinstance(r, HandoverStep)]
    return _to_chat(_anchor(steps[-1]) if steps else "composer")


@router.post("/chat/feedback")
def feedback(
    request: Request, message_id: int = Form(...), value: int = Form(...), ref: str = Volunteer
) -> Response:
    """👍 or 👎 on a reply."""
    volunteer.feedback(security.services(request), ops.volunteer(ref), message_id, value)
    return _to_chat(f"msg-{message_id}", "feedback")


@router.post("/chat/rate")
def rate(
    request: Request,
    code: str = Form(..., max_length=40),
    score: int = Form(...),
    ref: str = Volunteer,
) -> Response:
    """The satisfaction score (1–5) of one of this person's closed requests."""
    volunteer.rate(security.services(request), ops.volunteer(ref), code, score)
    return _to_chat("composer", "rated")


@router.post("/chat/handover/start")
def handover_start(
    request: Request,
    topic: str = Form("", max_length=40),
    appointment: bool = Form(False),
    ref: str = Volunteer,
) -> Response:
    """ "Parla con un esperto" / "Prenota un appuntamento": start the hand-over."""
    step = volunteer.start_handover(
        security.services(request), ops.volunteer(ref), topic=topic, appointment=appointment
    )
    return _to_chat(_anchor(step))


@router.post("/chat/handover/choose")
def handover_choose(
    request: Request,
    key: str = Form(..., max_length=60),
    email: str = Form("", max_length=1000),  # optional; checked (and explained) by the use case
    ref: str = Volunteer,
) -> Response:
    """A button of the hand-over (topic, mode, slot, confirm…), with the optional e-mail."""
    step = volunteer.press(
        security.services(request), ops.volunteer(ref), HandoverAction.parse(key), email=email
    )
    if isinstance(step, Booked) and step.booking_id is not None:
        return RedirectResponse(f"/chat/appointments/{step.booking_id}", status_code=303)
    return _to_chat(_anchor(step))


@router.post("/chat/handover/leave")
def handover_leave(request: Request, ref: str = Volunteer) -> Response:
    """Leave the hand-over: the assistant answers again."""
    volunteer.leave(security.services(request), ops.volunteer(ref))
    return _to_chat("composer")


@router.get("/chat/appointments/{booking_id}.ics")
def appointment_ics(request: Request, booking_id: int, ref: str = Volunteer) -> Response:
    """The appointment for the person's calendar."""
    name, text = volunteer.ics(security.services(request), ops.volunteer(ref), booking_id)
    return Response(
        text,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/chat/appointments/{booking_id}")
def appointment(request: Request, booking_id: int, ref: str = Volunteer) -> Response:
    """The confirmation page: when, where, with whom, and the calendar file."""
    view = ops.appointment(security.services(request), ref, booking_id)
    return chat_page(request, {"template": "chat/appointment.html", "view": view})


@router.post("/chat/appointments/{booking_id}/cancel")
def cancel_appointment(request: Request, booking_id: int, ref: str = Volunteer) -> Response:
    """Cancel the appointment (up to the notice the desk asks for)."""
    volunteer.cancel_appointment(security.services(request), ops.volunteer(ref), booking_id)
    return _to_chat("appointments", "unbooked")


@router.post("/chat/appointments/{booking_id}/move")
def move_appointment(request: Request, booking_id: int, ref: str = Volunteer) -> Response:
    """Pick another time for the appointment."""
    volunteer.move_appointment(security.services(request), ops.volunteer(ref), booking_id)
    return _to_chat("handover")


@router.get("/chat/link/{token}")
def open_link(request: Request, token: str) -> Response:
    """A link from one of the desk's e-mails: reopen the person's chat in this browser (the
    one they wrote from, or one more browser bound on first use; any other is refused)."""
    svc = security.services(request)
    cookie = security.chat_token(request) or security.new_chat_token()
    opened = chat_links.open_chat(svc, token, security.volunteer_ref(cookie))
    response = RedirectResponse("/#composer", status_code=303)
    response.headers["Referrer-Policy"] = "no-referrer"
    age = svc.settings.web_chat_cookie_days * 86400
    security.set_cookie(response, request, security.CHAT_COOKIE, cookie, max_age=age)
    if opened.other_browser:
        alias = security.alias_value(svc.settings, opened.owner_ref, cookie)
        security.set_cookie(response, request, security.CHAT_AS_COOKIE, alias, max_age=age)
    else:
        security.clear_cookie(response, request, security.CHAT_AS_COOKIE)
    return response


@router.post("/chat/erase")
def erase(request: Request, ref: str = Volunteer) -> Response:
    """Forget this browser's conversations; the cookie goes too."""
    volunteer.erase(security.services(request), ops.volunteer(ref))
    response = RedirectResponse("/?ok=erased", status_code=303)
    security.clear_cookie(response, request, security.CHAT_COOKIE)
    security.clear_cookie(response, request, security.CHAT_AS_COOKIE)
    return response
