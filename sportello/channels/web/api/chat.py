"""The volunteer's chat as JSON, with replies streamed as server-sent events.

The browser's chat cookie is the identity: `GET /api/chat` hands it out (with the CSRF token
every change must carry in X-CSRF-Token); nothing here reads another browser's conversation.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from functools import partial

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import iterate_in_threadpool

from sportello.channels.web import security
from sportello.channels.web.errors import UNAVAILABLE_DETAIL, database_unavailable
from sportello.channels.web.operations import chat as ops
from sportello.channels.web.templating import render_partial
from sportello.errors import SportelloError
from sportello.usecases import volunteer
from sportello.usecases.results import AssistantReply, HandoverAction, HandoverStep
from sportello.usecases.views import MessageView

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/chat", tags=["chat"])
Volunteer = Depends(security.volunteer_guard)
# A question is counted against the rate limit by the use case, in the transaction that
# stores it (one unit of work, not two).
Sender = Depends(security.message_guard)


class ChatSession(BaseModel):
    csrf_token: str
    state: ops.ChatState


class Question(BaseModel):
    text: str = Field(..., min_length=1)  # the length limit is the use case's (one for all)


class Answer(BaseModel):
    """The non-streamed reply: the assistant's message and/or the hand-over's step (both when
    the assistant escalated: the hand-over starts at once)."""

    message: MessageView | None = None
    offer_expert: bool = False
    handover: ops.HandoverView | None = None


class Vote(BaseModel):
    value: int = Field(..., description="+1 (utile) o -1 (non utile)")


class HandoverStart(BaseModel):
    topic: str | None = Field(None, max_length=40)
    appointment: bool = False


class HandoverKey(BaseModel):
    key: str = Field(..., max_length=60)
    email: str | None = Field(
        None,
        max_length=1000,
        description="Optional address for the reply and the reminders (when e-mail is on).",
    )


class NewMessages(BaseModel):
    messages: list[MessageView]
    html: str


@router.get("")
def session(request: Request, response: Response) -> ChatSession:
    """This browser's conversation; gives the browser its chat cookie the first time."""
    svc = security.services(request)
    token = security.chat_token(request) or security.new_chat_token()
    security.set_cookie(
        response,
        request,
        security.CHAT_COOKIE,
        token,
        max_age=svc.settings.web_chat_cookie_days * 86400,
    )
    return ChatSession(
        csrf_token=security.chat_csrf(token),
        state=ops.state(svc, security.chat_ref(request, token)),
    )


def _sse(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


def _message_html(request: Request, message: MessageView, offer_expert: bool) -> str:
    token = security.chat_token(request) or ""
    shown = message.model_copy(update={"offer_expert": offer_expert})
    return render_partial(
        request,
        "_partials/message.html",
        m=shown,
        with_feedback=True,
        chat_csrf=security.chat_csrf(token),
    )


@router.post(
    "/messages",
    response_model=Answer,
    responses={200: {"content": {"text/event-stream": {}}, "description": "SSE when asked"}},
)
async def ask(request: Request, body: Question, ref: str = Sender) -> Response:
    """Ask a question. With `Accept: text/event-stream` the reply streams as events
    `delta` ({text}) then `done` ({message, html, offer_expert}); `handover` when the text
    belonged to a hand-over step; `error` ({error, detail}) if it failed."""
    svc, who, admission = (
        security.services(request),
        ops.volunteer(ref),
        security.admission(request),
    )
    if "text/event-stream" not in request.headers.get("accept", ""):
        results = await asyncio.to_thread(
            partial(volunteer.receive_text, svc, who, body.text, admission=admission)
        )
        answer = Answer()
        for result in results:
            if isinstance(result, AssistantReply):
                answer.message = result.message
                answer.offer_expert = result.offer_expert
            elif isinstance(result, HandoverStep):
                answer.handover = ops.handover_view(result, svc.settings.email_enabled)
        return _json(answer)
    # Checked, counted and stored before the stream starts: a refusal is a plain 400 or 429.
    stream = await asyncio.to_thread(
        partial(volunteer.receive_text_stream, svc, who, body.text, admission=admission)
    )

    async def events() -> AsyncIterator[str]:
        try:
            async for item in iterate_in_threadpool(stream):
                if isinstance(item, HandoverStep):
                    view = ops.handover_view(item, svc.settings.email_enabled)
                    yield _sse("handover", {"handover": view.model_dump()})
                elif isinstance(item, AssistantReply):
                    stored = item.message
                    yield _sse(
                        "done",
                        {
                            "message": stored.model_dump(mode="json"),
                            "offer_expert": item.offer_expert,
                            "html": _message_html(request, stored, item.offer_expert),
                        },
                    )
                elif isinstance(item, str):
                    yield _sse("delta", {"text": item})
        except SportelloError as exc:
            yield _sse("error", {"error": exc.code.code, "detail": exc.detail})
        except Exception as exc:  # the stream has started: tell the page instead of cutting it
            if database_unavailable(exc):
                logger.warning("chat stream: database unavailable (%s)", type(exc).__name__)
                yield _sse("error", {"error": "unavailable", "detail": UNAVAILABLE_DETAIL})
                return
            logger.exception("chat stream failed")
            yield _sse(
                "error", {"error": "internal", "detail": "Si è verificato un errore interno."}
            )

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _json(model: BaseModel) -> Response:
    return Response(model.model_dump_json(), media_type="application/json")


@router.get("/messages")
def messages(request: Request, after: int = 0, ref: str = Volunteer) -> NewMessages:
    """Messages after `after` (an expert's reply, a notice), with their HTML."""
    rows = volunteer.messages_after(security.services(request), ops.volunteer(ref), after)
    html = "".join(_message_html(request, m, m.offer_expert) for m in rows)
    return NewMessages(messages=rows, html=html)


@router.post("/messages/{message_id}/feedback")
def feedback(request: Request, message_id: int, body: Vote, ref: str = Volunteer) -> dict[str, int]:
    """👍 (+1) or 👎 (-1) on one of this conversation's replies."""
    volunteer.feedback(security.services(request), ops.volunteer(ref), message_id, body.value)
    return {"message_id": message_id, "value": body.value}


class Rating(BaseModel):
    code: str = Field(..., max_length=40, description="The closed request's code.")
    score: int = Field(..., description="1 (per niente soddisfatto) … 5 (moltissimo)")


@router.post("/rating")
def rate(request: Request, body: Rating, ref: str = Volunteer) -> dict[str, object]:
    """Rate one of this browser's closed requests (the question the closure asks)."""
    volunteer.rate(security.services(request), ops.volunteer(ref), body.code, body.score)
    return {"ticket_code": body.code, "score": body.score}


@router.post("/handover/start")
def handover_start(request: Request, body: HandoverStart, ref: str = Volunteer) -> ops.HandoverView:
    """Start the hand-over to an expert (optionally straight to an appointment)."""
    svc = security.services(request)
    step = volunteer.start_handover(
        svc, ops.volunteer(ref), topic=body.topic, appointment=body.appointment
    )
    return ops.handover_view(step, svc.settings.email_enabled)


@router.post("/handover/choose")
def handover_choose(request: Request, body: HandoverKey, ref: str = Volunteer) -> ops.HandoverView:
    """Press one of the step's buttons (`choices[].key`)."""
    svc = security.services(request)
    action = HandoverAction.parse(body.key)
    step = volunteer.press(svc, ops.volunteer(ref), action, email=body.email)
    return ops.handover_view(step, svc.settings.email_enabled)


@router.post("/handover/leave")
def handover_leave(request: Request, ref: str = Volunteer) -> ops.HandoverView:
    """Leave the hand-over."""
    return ops.handover_view(volunteer.leave(security.services(request), ops.volunteer(ref)))


@router.get("/appointments")
def appointments(request: Request, ref: str = Volunteer) -> list[ops.AppointmentItem]:
    """This browser's upcoming appointments."""
    return ops.state(security.services(request), ref).appointments


@router.get("/appointments/{booking_id}")
def appointment(request: Request, booking_id: int, ref: str = Volunteer) -> ops.AppointmentPage:
    """One of this browser's appointments (404 for anyone else's)."""
    return ops.appointment(security.services(request), ref, booking_id)


@router.post("/appointments/{booking_id}/cancel")
def cancel_appointment(request: Request, booking_id: int, ref: str = Volunteer) -> dict[str, str]:
    """Cancel one of this browser's appointments."""
    done = volunteer.cancel_appointment(security.services(request), ops.volunteer(ref), booking_id)
    return {"ticket_code": done.code}


@router.delete("")
def erase(request: Request, response: Response, ref: str = Volunteer) -> dict[str, int]:
    """Forget this browser's conversations and personal data."""
    done = volunteer.erase(security.services(request), ops.volunteer(ref))
    security.clear_cookie(response, request, security.CHAT_COOKIE)
    security.clear_cookie(response, request, security.CHAT_AS_COOKIE)
    return dict(done.__dict__)
