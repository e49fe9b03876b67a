"""Which language a message is in decides the reply's language and the English ranking."""

import pytest

from sportello.answering.language import detect_language
from tests.golden import golden


@pytest.mark.parametrize(
    "text",
    [
        "Are donations from companies deductible?",
        "Can volunteers get a fixed monthly allowance?",
        "Is VAT due on membership fees?",
        "How do we issue a receipt for a donation?",
        "What is the RUNTS and who manages it?",
    ],
)
def test_english_questions_short_ones_included(text: str) -> None:
    assert detect_language(text) == "en"


@pytest.mark.parametrize(
    "text",
    [
        "crowdfunding reward o donation?",
        "Social bonus: cos'è?",
        "newsletter ai donatori: privacy?",
        "fundraising event",
        "nn siamo iscritti x forza al runts, cmq serve?",
        "entro quando si deposita il bilancio?",
        "ok",
        "",
    ],
)
def test_italian_messages_even_made_of_loanwords(text: str) -> None:
    assert detect_language(text) == "it"


def test_the_golden_sets_english_tag_is_read_back() -> None:
    items = golden()
    disagree = [
        item["id"]
        for item in items
        if (detect_language(item["question"]) == "en") != ("english" in item.get("tags", []))
    ]
    # One Italian message quotes an English instruction to translate and run (an injection).
    assert len(disagree) <= len(items) // 100, disagree
