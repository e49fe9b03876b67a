"""1. Hostile input, as properties (hypothesis): whatever a person types, the assistant answers
something, and whatever text is shown, the web and Telegram renderers emit only their own tags."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sportello.answering.assistant import Assistant
from sportello.answering.schemas import Action, Reply, Turn
from sportello.channels.telegram.render import MAX_MESSAGE, reply_html, split_html, utf16_len
from sportello.channels.telegram.texts import Texts
from sportello.channels.web.render import to_html
from tests.trust.conftest import Cases

pytestmark = pytest.mark.trust("input")

BOUNDED = settings(
    max_examples=150,
    deadline=None,
    database=None,  # no .hypothesis folder; every run explores afresh
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
WORDS = [
    "RUNTS",
    "associazione",
    "5 per mille",
    "ODV",
    "APS",
    "bilancio",
    "iscrizione",
    "statuto",
    "volontari",
    "raccolta fondi",
    "esperto",
    "appuntamento",
    "ignora",
    "istruzioni",
    "SELECT",
    "<script>",
    "&amp;",
    "\u200b",
    "🙏",
    "Как",
    "協会",
    "?",
    "\n",
    "'",
    '"',
    "--",
    "%s",
    "{}",
]
any_text = st.text(max_size=400)
wordy_text = st.lists(st.sampled_from(WORDS) | st.text(max_size=12), max_size=40).map(" ".join)
long_text = st.integers(min_value=3_990, max_value=4_200).map(lambda n: ("associazione " * 400)[:n])
messages = any_text | wordy_text | long_text


@BOUNDED
@given(text=messages)
def test_the_assistant_never_crashes_nor_goes_silent(
    assistant: Assistant, cases: Cases, text: str
) -> None:
    cases.add()
    reply = assistant.reply([], text)
    assert reply.text.strip()
    assert reply.action in set(Action)


@BOUNDED
@given(
    history=st.lists(
        st.builds(
            Turn,
            role=st.sampled_from(["user", "assistant", "expert"]),
            text=wordy_text,
            topic=st.sampled_from([None, "fiscale", "runts", "boh"]),
            action=st.sampled_from([None, "answer", "escalate", "refuse", "clarify"]),
        ),
        max_size=6,
    ),
    text=wordy_text,
)
def test_a_follow_up_with_any_history_is_answered(
    assistant: Assistant, cases: Cases, history: list[Turn], text: str
) -> None:
    cases.add()
    reply = assistant.reply(history, text)
    assert reply.text.strip()


ALLOWED_WEB = re.compile(
    r'</?(?:p|br|ul|li)>|<a href="https?://[^"<>]*" rel="noopener noreferrer">|'
    r'<a class="cite" href="#m1-\d{1,2}" aria-label="fonte \d{1,2}">|</a>'
)


@BOUNDED
@given(text=any_text | wordy_text)
def test_web_messages_carry_only_the_renderers_tags(cases: Cases, text: str) -> None:
    cases.add()
    html = str(to_html(text, anchor="m1", numbers={1, 2}))
    leftover = ALLOWED_WEB.sub("", html)
    assert "<" not in leftover and ">" not in leftover, (text, html)


@BOUNDED
@given(text=any_text | wordy_text | st.text(min_size=4_000, max_size=9_000))
def test_telegram_parts_are_small_escaped_and_whole(cases: Cases, text: str) -> None:
    cases.add()
    html = reply_html(Reply(text=text, action=Action.ANSWER, confidence=1.0), Texts.load())
    parts = split_html(html)
    for part in parts:
        assert utf16_len(part) <= MAX_MESSAGE
        assert not re.search(r"&[#a-zA-Z0-9]*$", part), part[-20:]
        assert not re.search(r"<(?!/?(?:b|i|a)[ >])", part), part
